// Package wire is the HTTP exchange of the adapters that talk to a server
// (remoteStorage, Dropbox): a request, a response and a Doer that sends
// one, in types that do not import net/http.
//
// The command line sends requests with net/http (package wire/nethttp);
// a web page sends them with the browser's fetch (internal/jsfetch), which
// has its own TLS, so the page's WebAssembly does not link net/http,
// crypto/tls and crypto/x509, which would more than double its size.
//
// Both Doers have the same rules, so an adapter behaves the same on either:
// a redirect is never followed (the request carries a bearer token, and no
// server an adapter talks to redirects its API), nothing is cached, no
// cookie is sent, and a request ends when its context does.
package wire

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"
)

// Request is one HTTP request.
type Request struct {
	Method string
	URL    string // absolute
	Header Header
	// Body is sent as is; nil sends no body.
	Body []byte
	// NoCache asks that the answer come from the server, never from a
	// cache on the way. Browsers set it as fetch's cache mode, because a
	// Cache-Control request header would need a CORS preflight that some
	// servers refuse.
	NoCache bool
}

// Response is the answer to a Request. Its Body must be closed.
type Response struct {
	Status int
	Header Header
	// ContentLength is the announced length of Body, -1 when unknown.
	ContentLength int64
	Body          io.ReadCloser
}

// Doer sends a request and returns the server's answer, whatever its
// status. An error means no answer was received (network failure, a
// redirect refused, ctx done).
type Doer interface {
	Do(ctx context.Context, req *Request) (*Response, error)
}

// Header is a set of HTTP header fields, one value per name. Names are
// case-insensitive: Header keeps them in lower case, as fetch reports them.
type Header map[string]string

// Get returns the value of field name, or "".
func (h Header) Get(name string) string { return h[strings.ToLower(name)] }

// Set sets field name to v.
func (h Header) Set(name, v string) { h[strings.ToLower(name)] = v }

// NewRequest returns a request with an empty header.
func NewRequest(method, url string, body []byte) *Request {
	return &Request{Method: method, URL: url, Header: Header{}, Body: body}
}

// ParseRetryAfter reads a Retry-After value: seconds, or an HTTP date
// (RFC 9110 section 10.2.3), which is turned into the time left from now.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, ok := ParseDate(v); ok {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// ParseDate parses an HTTP date in any of the three formats RFC 9110
// section 5.6.7 says a recipient must accept.
func ParseDate(v string) (time.Time, bool) {
	for _, layout := range []string{
		"Mon, 02 Jan 2006 15:04:05 GMT",  // IMF-fixdate
		"Monday, 02-Jan-06 15:04:05 GMT", // obsolete RFC 850
		"Mon Jan _2 15:04:05 2006",       // asctime
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// StatusText is the reason phrase of an HTTP status code the adapters
// meet, for error messages; "" for one it does not know.
func StatusText(code int) string {
	return statusText[code]
}

var statusText = map[int]string{
	200: "OK",
	201: "Created",
	204: "No Content",
	301: "Moved Permanently",
	302: "Found",
	303: "See Other",
	304: "Not Modified",
	307: "Temporary Redirect",
	308: "Permanent Redirect",
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	406: "Not Acceptable",
	408: "Request Timeout",
	409: "Conflict",
	410: "Gone",
	411: "Length Required",
	412: "Precondition Failed",
	413: "Request Entity Too Large",
	415: "Unsupported Media Type",
	422: "Unprocessable Entity",
	423: "Locked",
	425: "Too Early",
	428: "Precondition Required",
	429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Gateway Timeout",
	507: "Insufficient Storage",
}
