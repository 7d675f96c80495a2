package otp

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors for URIs of a kind this package does not handle; they match with
// errors.Is.
var (
	// ErrHOTP: an otpauth://hotp/ URI (counter-based codes).
	ErrHOTP = errors.New("HOTP (counter-based) keys are not supported, only TOTP (time-based) ones")
	// ErrUnsupportedType: an otpauth:// URI of another type than totp or
	// hotp, or an otpauth-migration:// export.
	ErrUnsupportedType = errors.New("unsupported OTP type")
)

const scheme = "otpauth://"

// IsURI reports whether s looks like an otpauth:// (or
// otpauth-migration://) URI rather than a bare secret.
func IsURI(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= len("otpauth") && strings.EqualFold(s[:len("otpauth")], "otpauth") &&
		strings.Contains(s, ":")
}

// ParseURI reads an otpauth://totp/LABEL?secret=...&issuer=... URI, where
// LABEL is "Issuer:Account" or "Account" (percent-encoded, the colon
// possibly as %3A) and the parameters are secret (required, base32),
// issuer, algorithm (SHA1, SHA256, SHA512), digits (6 to 10) and period
// (seconds). The issuer parameter wins over the label's prefix. Unknown
// parameters (such as image) are ignored. Errors never quote the URI.
func ParseURI(s string) (Key, error) {
	s = strings.TrimSpace(s)
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		if len(s) >= 19 && strings.EqualFold(s[:19], "otpauth-migration:/") {
			return Key{}, fmt.Errorf("%w: otpauth-migration:// URIs (Google Authenticator's bulk export) are not supported; export or show each account's otpauth://totp/ URI instead", ErrUnsupportedType)
		}
		return Key{}, errors.New("not an otpauth:// URI")
	}
	rest := s[len(scheme):]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	rest, query, _ := strings.Cut(rest, "?")
	typ, label, _ := strings.Cut(rest, "/")
	switch strings.ToLower(typ) {
	case "totp":
	case "hotp":
		return Key{}, ErrHOTP
	case "":
		return Key{}, errors.New("the otpauth:// URI has no type: expected otpauth://totp/LABEL?secret=...")
	default:
		// The type is not quoted: a mangled URI may have the secret there.
		return Key{}, fmt.Errorf("%w: only otpauth://totp/ URIs are supported", ErrUnsupportedType)
	}
	label, err := url.PathUnescape(label)
	if err != nil {
		return Key{}, errors.New("the label of the otpauth:// URI has invalid percent-encoding")
	}
	if err := checkText(label, "label"); err != nil {
		return Key{}, err
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return Key{}, errors.New("the parameters of the otpauth:// URI are malformed (invalid percent-encoding or a \";\")")
	}
	one := func(name string) (string, bool, error) {
		var vs []string
		for k, v := range params {
			if strings.EqualFold(k, name) {
				vs = append(vs, v...)
			}
		}
		switch len(vs) {
		case 0:
			return "", false, nil
		case 1:
			return vs[0], true, nil
		}
		return "", false, fmt.Errorf("the otpauth:// URI has the parameter %s more than once", name)
	}

	k := Key{Algorithm: DefaultAlgorithm, Digits: DefaultDigits, Period: DefaultPeriod}
	secret, ok, err := one("secret")
	if err != nil {
		return Key{}, err
	}
	if !ok || strings.TrimSpace(secret) == "" {
		return Key{}, errors.New("the otpauth:// URI has no secret parameter")
	}
	if k.Secret, err = NormalizeSecret(secret); err != nil {
		return Key{}, err
	}
	issuer, _, err := one("issuer")
	if err != nil {
		return Key{}, err
	}
	if err := checkText(issuer, "issuer"); err != nil {
		return Key{}, err
	}
	if v, ok, err := one("algorithm"); err != nil {
		return Key{}, err
	} else if ok {
		if k.Algorithm, err = ParseAlgorithm(v); err != nil {
			return Key{}, err
		}
	}
	if v, ok, err := one("digits"); err != nil {
		return Key{}, err
	} else if ok {
		d, err := strconv.Atoi(v)
		if err != nil {
			return Key{}, fmt.Errorf("the digits parameter %q is not a number", clip(v))
		}
		if err := checkDigits(d); err != nil {
			return Key{}, err
		}
		k.Digits = d
	}
	if v, ok, err := one("period"); err != nil {
		return Key{}, err
	} else if ok {
		p, err := strconv.Atoi(v)
		if err != nil {
			return Key{}, fmt.Errorf("the period parameter %q is not a number", clip(v))
		}
		if err := checkPeriod(p); err != nil {
			return Key{}, err
		}
		k.Period = p
	}

	// The label is "Issuer:Account" or "Account"; the issuer parameter,
	// when given, wins over the prefix (and may itself contain a colon).
	switch prefix, account, found := strings.Cut(label, ":"); {
	case issuer != "" && strings.HasPrefix(label, issuer+":"):
		k.Issuer, k.Account = issuer, strings.TrimSpace(label[len(issuer)+1:])
	case found:
		k.Issuer, k.Account = strings.TrimSpace(prefix), strings.TrimSpace(account)
		if issuer != "" {
			k.Issuer = issuer
		}
	default:
		k.Issuer, k.Account = issuer, strings.TrimSpace(label)
	}
	return k, nil
}

// URI returns k as an otpauth://totp/ URI, with every parameter explicit.
// It holds the secret: print it only when asked to.
func (k Key) URI() string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	switch {
	case k.Issuer != "":
		b.WriteString(escape(k.Issuer) + ":" + escape(k.Account))
	case strings.Contains(k.Account, ":"):
		// An empty prefix, so that the account's colon is not read as one.
		b.WriteString(":" + escape(k.Account))
	default:
		b.WriteString(escape(k.Account))
	}
	b.WriteString("?secret=" + k.Secret)
	if k.Issuer != "" {
		b.WriteString("&issuer=" + escape(k.Issuer))
	}
	fmt.Fprintf(&b, "&algorithm=%s&digits=%d&period=%d", k.Algorithm, k.Digits, k.Period)
	return b.String()
}

// escape percent-encodes s for the label or a parameter of a URI, spaces
// as %20 (which every app decodes, unlike "+").
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// checkText rejects labels and issuers that are not UTF-8 or hold control
// characters, which would garble what is printed.
func checkText(s, what string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("the %s of the otpauth:// URI is not UTF-8 text", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("the %s of the otpauth:// URI contains a control character", what)
		}
	}
	return nil
}
