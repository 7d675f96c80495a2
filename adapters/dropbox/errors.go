package dropbox

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/wire"
)

// APIError is an error response of the Dropbox API. It never holds a token
// or file content.
type APIError struct {
	Endpoint string // "files/download", "files/upload"
	Status   int    // HTTP status
	// Tags is the error's union tags from the outside in, such as
	// ["path", "conflict", "file"] for an upload conflict; empty when the
	// body was not Dropbox's JSON error shape.
	Tags []string
	// Text is Dropbox's error_summary, or the start of a plain-text body,
	// with any token redacted.
	Text string
	// Advice says what the user can do.
	Advice string
	// Wait is the server's Retry-After hint, if any.
	Wait time.Duration
	// Cut is set when the response body could not be read whole.
	Cut bool
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("Dropbox %s answered %d %s", e.Endpoint, e.Status, wire.StatusText(e.Status))
	if e.Text != "" {
		msg += ": " + e.Text
	}
	if e.Advice != "" {
		msg += "; " + e.Advice
	}
	return msg
}

func (e *APIError) tag(i int) string {
	if i < len(e.Tags) {
		return e.Tags[i]
	}
	return ""
}

// retryAfterError carries a Retry-After hint (adapters.RetryAfterError).
type retryAfterError struct {
	*APIError
}

func (e retryAfterError) RetryAfter() time.Duration { return e.Wait }
func (e retryAfterError) Unwrap() error             { return e.APIError }

type tagged struct {
	Tag string `json:".tag"`
}

// errorBody is Dropbox's JSON error shape, covering the unions the adapter
// meets: AuthError, LookupError in DownloadError, WriteError in UploadError,
// and RateLimitError.
type errorBody struct {
	Summary string `json:"error_summary"`
	Error   struct {
		Tag    string  `json:".tag"`
		Path   *tagged `json:"path"`
		Reason *struct {
			Tag      string  `json:".tag"`
			Conflict *tagged `json:"conflict"`
		} `json:"reason"`
		RetryAfter    int    `json:"retry_after"`
		RequiredScope string `json:"required_scope"`
	} `json:"error"`
}

// readAPIError reads and closes an error response.
func readAPIError(resp *wire.Response, endpoint string, secrets []string) *APIError {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &APIError{Endpoint: endpoint, Status: resp.Status, Cut: err != nil}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.Summary != "" || eb.Error.Tag != "" || eb.Error.Reason != nil) {
		e.Text = eb.Summary
		if t := eb.Error.Tag; t != "" {
			e.Tags = append(e.Tags, t)
		}
		switch {
		case eb.Error.Path != nil:
			e.Tags = append(e.Tags, eb.Error.Path.Tag)
		case eb.Error.Reason != nil:
			e.Tags = append(e.Tags, eb.Error.Reason.Tag)
			if eb.Error.Reason.Conflict != nil {
				e.Tags = append(e.Tags, eb.Error.Reason.Conflict.Tag)
			}
		}
		if len(e.Tags) == 0 && eb.Summary != "" {
			e.Tags = summaryTags(eb.Summary)
		}
		if eb.Error.RetryAfter > 0 {
			e.Wait = time.Duration(eb.Error.RetryAfter) * time.Second
		}
		if eb.Error.RequiredScope != "" {
			e.Text += " (needs scope " + eb.Error.RequiredScope + ")"
		}
	} else {
		e.Text = string(body)
	}
	e.Text = shorten(redact(e.Text, secrets))
	if d, ok := wire.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && d > e.Wait {
		e.Wait = d
	}
	return e
}

// summaryTags splits an error_summary such as "path/conflict/file/.." into
// its tags.
func summaryTags(s string) []string {
	var tags []string
	for _, t := range strings.Split(s, "/") {
		t = strings.TrimSpace(t)
		if t == "" || strings.Trim(t, ".") == "" {
			break
		}
		tags = append(tags, t)
	}
	return tags
}

// lockedWait is how long a download of a locked file waits before it is
// tried again.
const lockedWait = 60 * time.Second

// classify turns an error response into an adapters error of the right kind.
func classify(op, id string, e *APIError) error {
	kind := error(nil)
	switch s := e.Status; {
	case e.Cut:
		// An error whose body was cut off cannot be told apart; the
		// connection failed, which is worth another try.
		kind = adapters.ErrTransient
		e.Text = "response cut off"
		e.Advice = "check the connection; try again"
	case s == 400:
		// A 400 is also how Dropbox answers an app that is disabled or
		// misconfigured, or a path it cannot take: not always a bug.
		e.Advice = "Dropbox did not accept the request; check the app key and the store folder, and report it if they are right"
	case s == 401:
		kind = adapters.ErrUnauthorized
		switch e.tag(0) {
		case "missing_scope":
			// Signing in again alone asks for the same scopes: the app
			// must have the permission ticked first.
			e.Advice = "the Dropbox app lacks a permission vaultdb needs: tick it (files.content.read and files.content.write) in the app's Permissions tab in the Dropbox App Console, then sign in again"
		case "user_suspended":
			e.Advice = "the Dropbox account is suspended; contact Dropbox"
		default:
			e.Advice = "Dropbox no longer accepts vaultdb's authorisation"
		}
	case s == 403:
		kind = adapters.ErrUnauthorized
		e.Advice = "Dropbox denied access; check that the account may use this folder, or sign in with another account"
	case s == 409:
		kind = classifyEndpoint(e)
	case s == 429:
		kind = adapters.ErrTransient
		e.Advice = "Dropbox is rate-limiting requests; try again later"
		if e.tag(0) == "too_many_write_operations" {
			e.Advice = "Dropbox is busy with other writes to this account; try again later"
		}
		// RateLimitError's retry_after defaults to 1 s.
		e.Wait = max(e.Wait, time.Second)
	case s >= 500:
		kind = adapters.ErrTransient
		e.Advice = "Dropbox has a temporary problem; try again later"
	default:
		e.Advice = "unexpected answer from Dropbox; try again, and report it if it persists"
	}
	var err error = e
	if kind == adapters.ErrTransient && e.Wait > 0 {
		err = retryAfterError{e}
	}
	return adapters.NewError(op, id, kind, err)
}

// classifyEndpoint handles the endpoint-specific errors of a 409.
func classifyEndpoint(e *APIError) error {
	if e.Endpoint == "files/list_folder/continue" && e.tag(0) == "reset" {
		e.Advice = "the folder listing was reset; run the command again"
		return adapters.ErrTransient
	}
	// ListFolderError has the shape of DownloadError's path errors.
	if e.Endpoint == "files/download" || strings.HasPrefix(e.Endpoint, "files/list_folder") {
		if e.tag(0) != "path" {
			if e.tag(0) == "unsupported_file" {
				e.Advice = "the file cannot be downloaded; check the store folder"
			}
			return nil
		}
		switch e.tag(1) {
		case "not_found":
			return adapters.ErrNotFound
		case "not_file":
			e.Advice = "a folder is where vaultdb expects a file; move it out of the store folder"
		case "malformed_path":
			e.Advice = "Dropbox does not accept the store folder's name; choose another --store path"
		case "restricted_content":
			e.Advice = "Dropbox restricts access to this file; contact Dropbox support"
		case "locked":
			// A lock is held for a while (someone editing, a legal
			// hold): retrying at once only adds requests.
			e.Advice = "the file is locked in Dropbox; try again in a minute"
			e.Wait = max(e.Wait, lockedWait)
			return adapters.ErrTransient
		default:
			e.Advice = "check the store folder in Dropbox"
		}
		return nil
	}
	// files/upload: UploadError.
	switch e.tag(0) {
	case "path":
	case "content_hash_mismatch":
		e.Advice = "the upload was damaged on the way; try again"
		return adapters.ErrTransient
	case "encryption_not_supported":
		e.Advice = "this Dropbox folder requires encryption that Dropbox's API does not support; use a folder without it"
		return nil
	case "payload_too_large":
		e.Advice = "the blob is too large for one upload; use more shards"
		return nil
	default:
		e.Advice = "unexpected upload error; try again, and report it if it persists"
		return nil
	}
	switch e.tag(1) {
	case "conflict":
		if e.tag(2) == "folder" || e.tag(2) == "file_ancestor" {
			e.Advice = "a folder or file in Dropbox is in the way of the store's file; check the store folder"
			return nil
		}
		return adapters.ErrConflict
	case "too_many_write_operations":
		// The 409 form of the 429 RateLimitError: the same namespace write
		// lock, the same pacing (retry_after defaults to 1 s).
		e.Advice = "Dropbox is busy with other writes to this account; try again later"
		e.Wait = max(e.Wait, time.Second)
		return adapters.ErrTransient
	case "insufficient_space":
		e.Advice = "the Dropbox account is full; free up space or upgrade the account"
	case "no_write_permission", "access_restricted":
		e.Advice = "this Dropbox account may not write to the store folder; choose a folder it owns or ask for edit access"
		return adapters.ErrUnauthorized
	case "malformed_path", "disallowed_name":
		e.Advice = "Dropbox does not accept the store folder's name; choose another --store path"
	case "team_folder":
		e.Advice = "the store cannot be the top of a team folder; use a folder inside it"
	case "operation_suppressed":
		e.Advice = "Dropbox suppressed the write; check the account's status"
	default:
		e.Advice = "Dropbox refused the write; check the store folder and the account"
	}
	return nil
}

// redact replaces every secret in s.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// shorten keeps the first line of s, at most 200 bytes of it, printable.
func shorten(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F {
			return -1
		}
		return r
	}, s)
}

// HeaderJSON encodes v as JSON safe to send in an HTTP header, as the
// Dropbox API requires for Dropbox-API-Arg: 0x7F and every non-ASCII
// character is written as \uXXXX, and a character above U+FFFF as a UTF-16
// surrogate pair. (encoding/json already escapes the control characters.)
func HeaderJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r < 0x7F:
			sb.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, r1, r2)
		}
	}
	return sb.String(), nil
}

var _ adapters.RetryAfterError = retryAfterError{}
