package remotestorage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/adapters/wire/wiredefault"
)

// Account is a remoteStorage user address, user@host (host may carry a
// port).
type Account struct {
	User, Host string
}

func (a Account) String() string { return a.User + "@" + a.Host }

var (
	userRe = regexp.MustCompile(`^[A-Za-z0-9._%+-]+$`)
	hostRe = regexp.MustCompile(`^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)
)

// ParseAccount parses user@host.
func ParseAccount(s string) (Account, error) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i == len(s)-1 {
		return Account{}, fmt.Errorf("%q is not a remoteStorage address user@host", s)
	}
	a := Account{User: s[:i], Host: strings.ToLower(s[i+1:])}
	if !userRe.MatchString(a.User) {
		return Account{}, fmt.Errorf("%q: the user name may contain only letters, digits and . _ %% + -", s)
	}
	if !hostRe.MatchString(a.Host) {
		return Account{}, fmt.Errorf("%q: %q is not a host name (with an optional :port)", s, a.Host)
	}
	return a, nil
}

// Endpoints are what WebFinger says about an account's storage.
type Endpoints struct {
	// StorageRoot is the base URL of the account's storage, without a
	// trailing slash.
	StorageRoot string
	// AuthURL is the OAuth 2 authorisation endpoint (implicit grant); ""
	// when the server offers none.
	AuthURL string
	// Version is the protocol version the server speaks, such as
	// "draft-dejong-remotestorage-10".
	Version string
}

// MinVersion is the oldest protocol draft the adapter speaks: from draft
// 10 on, folder listings carry ETag and Content-Length and conditional
// requests are as this package uses them.
const MinVersion = 10

// Link relations of the storage link, newest first.
var storageRels = []string{"http://tools.ietf.org/id/draft-dejong-remotestorage", "remotestorage"}

const (
	propVersion = "http://remotestorage.io/spec/version"
	propAuth    = "http://tools.ietf.org/html/rfc6749#section-4.2"
)

var versionRe = regexp.MustCompile(`^draft-dejong-remotestorage-([0-9]{1,4})$`)

// WebFingerURL returns the WebFinger query for acct: https, or http for
// an account on this machine (a test server).
func WebFingerURL(acct Account) string {
	scheme := "https"
	if IsLoopback(hostOnly(acct.Host)) {
		scheme = "http"
	}
	return scheme + "://" + acct.Host + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+acct.String())
}

func hostOnly(hostport string) string {
	if u, err := url.Parse("//" + hostport); err == nil {
		return u.Hostname()
	}
	return hostport
}

// Discover asks the account's host, with WebFinger (RFC 7033), where its
// storage and its OAuth dialog are. doer nil means wiredefault.Doer(). A
// redirect is not followed (see package wire): the record must come from
// the account's host.
func Discover(ctx context.Context, doer wire.Doer, acct Account) (*Endpoints, error) {
	if doer == nil {
		doer = wiredefault.Doer()
	}
	req := wire.NewRequest("GET", WebFingerURL(acct), nil)
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := doer.Do(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &DiscoveryError{Account: acct, Transient: true, Err: fmt.Errorf("cannot reach %s: %v", acct.Host, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, &DiscoveryError{Account: acct, Transient: true, Err: fmt.Errorf("answer cut off: %v", err)}
	}
	switch {
	case resp.Status == 200:
	case resp.Status == 404:
		return nil, &DiscoveryError{Account: acct, Err: fmt.Errorf("%s knows no such account (WebFinger answered 404)", acct.Host)}
	default:
		return nil, &DiscoveryError{Account: acct, Transient: resp.Status == 429 || resp.Status >= 500,
			Err: fmt.Errorf("WebFinger answered %d %s", resp.Status, wire.StatusText(resp.Status))}
	}
	ep, err := parseJRD(body)
	if err != nil {
		return nil, &DiscoveryError{Account: acct, Err: err}
	}
	return ep, nil
}

// DiscoveryError is a failed WebFinger look-up.
type DiscoveryError struct {
	Account   Account
	Transient bool // worth trying again later
	Err       error
}

func (e *DiscoveryError) Error() string {
	return fmt.Sprintf("looking up remoteStorage account %s: %v", e.Account, e.Err)
}

func (e *DiscoveryError) Unwrap() error { return e.Err }

func parseJRD(body []byte) (*Endpoints, error) {
	var jrd struct {
		Links []struct {
			Rel        string                     `json:"rel"`
			Href       string                     `json:"href"`
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"links"`
	}
	if err := json.Unmarshal(body, &jrd); err != nil {
		return nil, errors.New("the WebFinger answer is not a JSON resource descriptor")
	}
	for _, rel := range storageRels {
		for _, l := range jrd.Links {
			if l.Rel != rel {
				continue
			}
			ep := &Endpoints{StorageRoot: strings.TrimSuffix(l.Href, "/")}
			var s string
			if json.Unmarshal(l.Properties[propVersion], &s) == nil && s != "" {
				ep.Version = s
			} else {
				ep.Version = l.Type
			}
			if json.Unmarshal(l.Properties[propAuth], &s) == nil {
				ep.AuthURL = s
			}
			if err := ep.check(); err != nil {
				return nil, err
			}
			return ep, nil
		}
	}
	return nil, errors.New("the account has no remoteStorage link in its WebFinger record")
}

func (ep *Endpoints) check() error {
	m := versionRe.FindStringSubmatch(ep.Version)
	if m == nil {
		return fmt.Errorf("the server speaks remoteStorage version %q, which is not a draft-dejong-remotestorage version", shorten(ep.Version))
	}
	if n, _ := strconv.Atoi(m[1]); n < MinVersion {
		return fmt.Errorf("the server speaks %s; vaultdb needs draft %d or later", ep.Version, MinVersion)
	}
	u, err := url.Parse(ep.StorageRoot)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("the storage root %q is not an absolute URL", shorten(ep.StorageRoot))
	}
	if err := checkScheme(u); err != nil {
		return fmt.Errorf("the storage root %q %v", shorten(ep.StorageRoot), err)
	}
	if ep.AuthURL != "" {
		u, err := url.Parse(ep.AuthURL)
		if err != nil || u.Host == "" {
			return fmt.Errorf("the OAuth dialog %q is not an absolute URL", shorten(ep.AuthURL))
		}
		if err := checkScheme(u); err != nil {
			return fmt.Errorf("the OAuth dialog %q %v", shorten(ep.AuthURL), err)
		}
	}
	return nil
}

// FolderURL returns the URL of folder (a path such as "vaultdb" or
// "vaultdb/work") under the storage root. Each segment is
// percent-encoded.
func (ep *Endpoints) FolderURL(folder string) string {
	var b strings.Builder
	b.WriteString(ep.StorageRoot)
	for _, seg := range strings.Split(strings.Trim(folder, "/"), "/") {
		if seg == "" {
			continue
		}
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}
