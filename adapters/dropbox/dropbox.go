// Package dropbox implements a blob store in a Dropbox folder, on the
// Dropbox HTTP API v2.
//
// # Layout
//
// Blob id is stored as the file <Root>/<id>, where Root is a folder of the
// user's Dropbox (or of the app folder, for an app-folder app), for example
// "/vaultdb". Ids may contain only a-z, 0-9 and '-' (as in localdir), so an id
// never names another folder; any other id is rejected before any request.
// Dropbox paths are case-insensitive: "/VaultDB/config" and "/vaultdb/config"
// are the same file. Dropbox creates missing parent folders on upload.
//
// # Compare-and-swap
//
// A read is one files/download request on the content host, with the path in
// the Dropbox-API-Arg header. The file's "rev", from the Dropbox-API-Result
// response header, is the blob's revision. A 409 path/not_found is
// adapters.ErrNotFound.
//
// A write is one files/upload request with autorename false, mute true and
// strict_conflict true, and mode "update" with the expected rev, or mode
// "add" when the blob must not exist. strict_conflict matters: without it an
// upload whose bytes equal the current file succeeds although the rev is
// stale, and an update of a deleted file re-creates it. A 409 path/conflict
// is adapters.ErrConflict. The new rev comes from the response. A rev that is
// not in Dropbox's format (hex, at least 9 digits) can never be current, so a
// write naming one fails with ErrConflict without a request.
//
// The upload names the content_hash of the bytes sent, so Dropbox rejects a
// body damaged on the way; a download is checked against the size Dropbox
// reports, so a cut-off response is never taken for the whole blob.
//
// # Failures
//
//   - 401 expired_access_token: the access token is refreshed once with the
//     refresh token (one refresh is shared by all concurrent requests) and the
//     request is sent again; if that fails too, or the refresh is refused
//     (400 invalid_grant), the error matches adapters.ErrUnauthorized and says
//     to sign in again (the caller knows how).
//   - Other 401s, 403, no_write_permission and access_restricted match
//     ErrUnauthorized; insufficient_space, malformed_path, disallowed_name and
//     the like are permanent (no kind); every message says what to do.
//   - 429 (JSON or plain-text body), 5xx, 409 too_many_write_operations, a
//     network error and a cut-off response are transient (ErrTransient),
//     with the wait that Retry-After (header or the body's retry_after)
//     asks for.
//
// The adapter makes one attempt per call (plus the one retry after
// refreshing an expired token). Retries are not its own: compose it with
// package adapters/retry, as adapters/stack does (the command line's
// stores all go through stack.Build), so that the retry policy is written
// and stacked in one place. The Dropbox errors carry the Retry-After hint
// as an adapters.RetryAfterError, which the retry layer honours.
//
// No error message contains an access or refresh token or file content:
// error text from Dropbox is shortened and any token in it is redacted.
//
// # Parallelism
//
// The adapter is safe for concurrent use. Its requests go through a
// wire.Doer: on the command line net/http with a pool of keep-alive
// connections (and HTTP/2 where the server offers it), so reads of several
// shards run in parallel and a task costs as many sequential round trips
// as the engine plans; in a web page the browser's fetch (see package
// adapters/wire), so the page's WebAssembly links no net/http.
package dropbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/adapters/wire/wiredefault"
)

var _ adapters.Adapter = (*Adapter)(nil)

// Default endpoints of the Dropbox API.
const (
	DefaultAPIBase     = "https://api.dropboxapi.com"
	DefaultContentBase = "https://content.dropboxapi.com"
	DefaultTokenURL    = "https://api.dropboxapi.com/oauth2/token"
	DefaultAuthURL     = "https://www.dropbox.com/oauth2/authorize"
)

// DefaultAppKey is a placeholder for the app key of vaultdb's registered
// Dropbox app. It is not a working key: until a real one is built in (or
// configured, for example through Options.AppKey), authorisation fails with
// an error saying that the app key is not configured. App keys are public
// identifiers, not secrets; with PKCE no app secret is used at all.
const DefaultAppKey = "vaultdb-dropbox-app-key-not-configured"

// maxUpload is the largest body files/upload accepts.
const maxUpload = 150 << 20

// Options configures an Adapter. Root and Token are required; the zero value
// of every other field gives the default.
type Options struct {
	// Root is the Dropbox folder of the store, such as "/vaultdb"; blob id is
	// the file <Root>/<id>. "" or "/" is the top folder (of the app folder,
	// for an app-folder app).
	Root string

	// APIBase and ContentBase are the base URLs of the API and content hosts
	// (DefaultAPIBase, DefaultContentBase); TokenURL is the OAuth 2 token
	// endpoint (DefaultTokenURL). Tests point them at a local server.
	APIBase, ContentBase, TokenURL string
	// AppKey is the Dropbox app key (client_id) the token was issued to.
	// Default DefaultAppKey.
	AppKey string

	// Token holds the credentials: a refresh token, an access token, or both
	// (with the access token's expiry, if known). With only a refresh token
	// the first request gets an access token first.
	Token *Token
	// OnToken, if not nil, is called with the new credentials after every
	// refresh of the access token, so the caller can save them (see
	// SaveToken). It is called from the goroutine that refreshed, while
	// other requests wait for the refresh; it must not call the adapter.
	OnToken func(*Token)

	// Doer sends the requests. Default: wiredefault.Doer(), net/http with a
	// keep-alive connection pool large enough for parallel shard reads and
	// HTTP/2 when the server offers it (fetch in a browser). Requests are
	// bounded by their context (the retry layer's per-request timeout).
	Doer wire.Doer

	// Now is the clock that tells when the access token expires; default
	// time.Now.
	Now func() time.Time
}

// Adapter is a blob store in a Dropbox folder. Create it with New.
type Adapter struct {
	api *client
}

// New returns an adapter for the store in opts.Root. It makes no request.
func New(opts Options) (*Adapter, error) {
	root, err := cleanRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	if opts.Token == nil || (opts.Token.AccessToken == "" && opts.Token.RefreshToken == "") {
		return nil, errors.New("no Dropbox credentials")
	}
	if opts.APIBase == "" {
		opts.APIBase = DefaultAPIBase
	}
	if opts.ContentBase == "" {
		opts.ContentBase = DefaultContentBase
	}
	if opts.TokenURL == "" {
		opts.TokenURL = DefaultTokenURL
	}
	if opts.AppKey == "" {
		opts.AppKey = DefaultAppKey
	}
	if opts.Doer == nil {
		opts.Doer = wiredefault.Doer()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c := &client{
		root:        root,
		apiBase:     strings.TrimSuffix(opts.APIBase, "/"),
		contentBase: strings.TrimSuffix(opts.ContentBase, "/"),
		http:        opts.Doer,
		tokens:      newTokens(opts, now),
	}
	return &Adapter{api: c}, nil
}

// Read implements adapters.Adapter.
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	return a.api.Read(ctx, id)
}

// Write implements adapters.Adapter.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	return a.api.Write(ctx, id, data, rev)
}

// MaxConcurrentWrites implements adapters.WriteLimiter: Dropbox applies
// the uploads of a namespace one at a time under a write lock and refuses an
// upload that cannot get it (too_many_write_operations), so a client
// sends one upload at a time. Dropbox's own guidance is the same: serialise
// writes to a namespace.
func (a *Adapter) MaxConcurrentWrites() int { return 1 }

// Path returns the Dropbox path of blob id.
func (a *Adapter) Path(id string) string { return a.api.path(id) }

// Token returns the current credentials (after any refresh), for saving.
func (a *Adapter) Token() *Token { return a.api.tokens.current() }

// client makes single attempts; it is the adapter below the retry layer.
type client struct {
	root        string
	apiBase     string
	contentBase string
	http        wire.Doer
	tokens      *tokens
}

func (c *client) path(id string) string { return c.root + "/" + id }

// metadata is the part of Dropbox's FileMetadata the adapter uses.
type metadata struct {
	Rev         string `json:"rev"`
	Size        int64  `json:"size"`
	ContentHash string `json:"content_hash"`
}

type pathArg struct {
	Path string `json:"path"`
}

type writeMode struct {
	Tag    string `json:".tag"`
	Update string `json:"update,omitempty"`
}

type uploadArg struct {
	Path           string    `json:"path"`
	Mode           writeMode `json:"mode"`
	Autorename     bool      `json:"autorename"`
	Mute           bool      `json:"mute"`
	StrictConflict bool      `json:"strict_conflict"`
	ContentHash    string    `json:"content_hash"`
}

// Read implements adapters.Adapter with one attempt.
func (c *client) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	if err := precheck(ctx, "read", id); err != nil {
		return nil, adapters.NoRev, err
	}
	arg, err := HeaderJSON(pathArg{Path: c.path(id)})
	if err != nil {
		return nil, adapters.NoRev, adapters.NewError("read", id, nil, err)
	}
	resp, err := c.do(ctx, "read", id, "files/download", arg, nil)
	if err != nil {
		return nil, adapters.NoRev, err
	}
	defer resp.Body.Close()
	var md metadata
	if err := json.Unmarshal([]byte(resp.Header.Get("Dropbox-API-Result")), &md); err != nil || !validRev(md.Rev) || md.Size < 0 {
		return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrTransient,
			errors.New("Dropbox sent a download without a valid Dropbox-API-Result header; try again"))
	}
	if md.Size > adapters.MaxBlobSize {
		// Refused before the body is read: a hostile or damaged store must
		// not make vaultdb allocate without bound.
		return nil, adapters.NoRev, adapters.NewError("read", id, nil,
			fmt.Errorf("%w: Dropbox reports %d bytes", adapters.ErrBlobTooLarge, md.Size))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, md.Size+1))
	if err != nil {
		return nil, adapters.NoRev, c.netErr(ctx, "read", id, fmt.Errorf("download cut off: %w", err))
	}
	if int64(len(data)) != md.Size {
		return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrTransient,
			fmt.Errorf("download of %d bytes cut off at %d; try again", md.Size, len(data)))
	}
	if md.ContentHash != "" && md.ContentHash != ContentHash(data) {
		return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrTransient,
			errors.New("downloaded content does not match Dropbox's content hash; try again"))
	}
	if data == nil {
		data = []byte{}
	}
	return data, adapters.Rev(md.Rev), nil
}

// Write implements adapters.Adapter with one attempt.
func (c *client) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if err := precheck(ctx, "write", id); err != nil {
		return adapters.NoRev, err
	}
	if len(data) > adapters.MaxBlobSize {
		// Never write what could not be read back.
		return adapters.NoRev, adapters.NewError("write", id, nil,
			fmt.Errorf("%w: %d bytes", adapters.ErrBlobTooLarge, len(data)))
	}
	if len(data) > maxUpload {
		return adapters.NoRev, adapters.NewError("write", id, nil,
			fmt.Errorf("blob of %d bytes is larger than Dropbox's single-upload limit of %d bytes; use more shards", len(data), maxUpload))
	}
	mode := writeMode{Tag: "add"}
	if rev != adapters.NoRev {
		if !validRev(string(rev)) {
			// Not a Dropbox rev, so not the file's current one.
			return adapters.NoRev, adapters.NewError("write", id, adapters.ErrConflict,
				errors.New("the expected revision is not a Dropbox revision"))
		}
		mode = writeMode{Tag: "update", Update: string(rev)}
	}
	hash := ContentHash(data)
	arg, err := HeaderJSON(uploadArg{Path: c.path(id), Mode: mode, Mute: true, StrictConflict: true, ContentHash: hash})
	if err != nil {
		return adapters.NoRev, adapters.NewError("write", id, nil, err)
	}
	if data == nil {
		data = []byte{}
	}
	resp, err := c.do(ctx, "write", id, "files/upload", arg, data)
	if err != nil {
		return adapters.NoRev, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		// The upload may have happened; a retry finds out (it conflicts).
		return adapters.NoRev, c.netErr(ctx, "write", id, fmt.Errorf("upload response cut off: %w", err))
	}
	var md metadata
	if err := json.Unmarshal(body, &md); err != nil || !validRev(md.Rev) {
		return adapters.NoRev, adapters.NewError("write", id, adapters.ErrTransient,
			errors.New("Dropbox answered the upload without a valid revision; try again"))
	}
	if md.Size != int64(len(data)) || (md.ContentHash != "" && md.ContentHash != hash) {
		return adapters.NoRev, adapters.NewError("write", id, nil,
			errors.New("Dropbox stored different content than was uploaded; run the command again and report this if it persists"))
	}
	return adapters.Rev(md.Rev), nil
}

// do sends one request to a content-host endpoint, refreshing an expired
// access token once. It returns a 200 response, or a classified error.
func (c *client) do(ctx context.Context, op, id, endpoint, arg string, body []byte) (*wire.Response, error) {
	return c.send(ctx, op, id, c.contentBase, endpoint, arg, body, "application/octet-stream")
}

// rpc sends one request with a JSON body to an API-host endpoint (the
// "RPC" style of the Dropbox API), like do.
func (c *client) rpc(ctx context.Context, op, id, endpoint string, body any) (*wire.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, adapters.NewError(op, id, nil, err)
	}
	return c.send(ctx, op, id, c.apiBase, endpoint, "", b, "application/json")
}

// send sends one request to base/2/endpoint, with the Dropbox-API-Arg
// header when arg is set and the body typed contentType.
func (c *client) send(ctx context.Context, op, id, base, endpoint, arg string, body []byte, contentType string) (*wire.Response, error) {
	tok, err := c.tokens.get(ctx)
	if err != nil {
		return nil, c.tokenErr(ctx, op, id, err)
	}
	for refreshed := false; ; refreshed = true {
		req := wire.NewRequest("POST", base+"/2/"+endpoint, body)
		req.Header.Set("Authorization", "Bearer "+tok)
		if arg != "" {
			req.Header.Set("Dropbox-API-Arg", arg)
		}
		if body != nil {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := c.http.Do(ctx, req)
		if err != nil {
			return nil, c.netErr(ctx, op, id, err)
		}
		if resp.Status == 200 {
			return resp, nil
		}
		apiErr := readAPIError(resp, endpoint, c.tokens.secrets())
		if resp.Status == 401 && apiErr.tag(0) == "expired_access_token" {
			if refreshed {
				return nil, adapters.NewError(op, id, adapters.ErrUnauthorized,
					errors.New("Dropbox rejected the access token as expired even after refreshing it"))
			}
			if tok, err = c.tokens.refresh(ctx, tok); err != nil {
				return nil, c.tokenErr(ctx, op, id, err)
			}
			continue
		}
		return nil, classify(op, id, apiErr)
	}
}

// netErr classifies a failure to send a request or read its response.
func (c *client) netErr(ctx context.Context, op, id string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return adapters.NewError(op, id, nil, cerr)
	}
	return adapters.NewError(op, id, adapters.ErrTransient,
		fmt.Errorf("network error talking to Dropbox (check the connection): %v", redact(err.Error(), c.tokens.secrets())))
}

func (c *client) tokenErr(ctx context.Context, op, id string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return adapters.NewError(op, id, nil, cerr)
	}
	var te *tokenError
	if errors.As(err, &te) {
		return adapters.NewError(op, id, te.kind, te)
	}
	return adapters.NewError(op, id, adapters.ErrTransient, err)
}

func precheck(ctx context.Context, op, id string) error {
	if err := ctx.Err(); err != nil {
		return adapters.NewError(op, id, nil, err)
	}
	if id == "" {
		return adapters.NewError(op, id, nil, errors.New("empty blob id"))
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return adapters.NewError(op, id, nil, errors.New("invalid blob id: only a-z, 0-9 and '-' are allowed"))
		}
	}
	return nil
}

// cleanRoot checks a store folder and returns it without a trailing slash
// ("" for the top folder).
func cleanRoot(root string) (string, error) {
	if root == "" || root == "/" {
		return "", nil
	}
	if !strings.HasPrefix(root, "/") {
		return "", fmt.Errorf("Dropbox folder %q must start with '/', as in /vaultdb", root)
	}
	root = strings.TrimSuffix(root, "/")
	for _, seg := range strings.Split(root[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("Dropbox folder %q is not a clean path: no empty, '.' or '..' parts", root)
		}
		if strings.ContainsFunc(seg, func(r rune) bool { return r < 0x20 || r == 0x7F }) {
			return "", fmt.Errorf("Dropbox folder %q contains control characters", root)
		}
		// Names Dropbox refuses (disallowed_name, malformed_path): checked
		// here so that no request is made with them.
		switch {
		case strings.Contains(seg, `\`):
			return "", fmt.Errorf("Dropbox folder %q contains a backslash, which Dropbox does not allow in names", root)
		case strings.HasSuffix(seg, " ") || strings.HasSuffix(seg, "."):
			return "", fmt.Errorf("Dropbox folder %q has a part ending in a space or a dot (%q), which Dropbox does not allow", root, seg)
		case len(seg) > 255:
			return "", fmt.Errorf("Dropbox folder %q has a part of %d bytes; Dropbox allows at most 255", root, len(seg))
		}
	}
	return root, nil
}

// validRev reports whether rev has the form of a Dropbox rev.
func validRev(rev string) bool {
	if len(rev) < 9 {
		return false
	}
	for i := 0; i < len(rev); i++ {
		if c := rev[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ContentHash returns the Dropbox content hash of data: the hex SHA-256 of
// the concatenated SHA-256 digests of its 4 MiB blocks.
func ContentHash(data []byte) string {
	const block = 4 << 20
	outer := sha256.New()
	for len(data) > 0 {
		n := min(block, len(data))
		sum := sha256.Sum256(data[:n])
		outer.Write(sum[:])
		data = data[n:]
	}
	return hex.EncodeToString(outer.Sum(nil))
}

// maxListed bounds a folder listing: a store folder holds a config and its
// shards (at most 65,536 of them, and the sealed ones a reshard leaves);
// more means the folder is not a store's, and a hostile server must not
// make vaultdb loop or allocate without end.
const maxListed = 1 << 18

// List implements adapters.Lister: the files of the store's folder
// (files/list_folder and its continuations), without subfolders. A folder
// that does not exist lists nothing.
func (a *Adapter) List(ctx context.Context) ([]string, error) {
	c := a.api
	const op, what = "list", "the store folder"
	type entry struct {
		Tag  string `json:".tag"`
		Name string `json:"name"`
	}
	var page struct {
		Entries []entry `json:"entries"`
		Cursor  string  `json:"cursor"`
		HasMore bool    `json:"has_more"`
	}
	var ids []string
	endpoint, body := "files/list_folder", any(map[string]any{"path": c.root, "recursive": false, "limit": 2000})
	for {
		resp, err := c.rpc(ctx, op, what, endpoint, body)
		if errors.Is(err, adapters.ErrNotFound) && endpoint == "files/list_folder" {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, adapters.NewError(op, what, adapters.ErrTransient, fmt.Errorf("Dropbox sent a folder listing that does not parse: %v", err))
		}
		for _, e := range page.Entries {
			if e.Tag == "file" {
				ids = append(ids, e.Name)
			}
		}
		if len(ids) > maxListed {
			return nil, adapters.NewError(op, what, nil, fmt.Errorf("the folder holds more than %d files: it is not a store's folder alone", maxListed))
		}
		if !page.HasMore {
			return ids, nil
		}
		if page.Cursor == "" {
			return nil, adapters.NewError(op, what, adapters.ErrTransient, errors.New("Dropbox said the listing goes on but gave no cursor"))
		}
		endpoint, body = "files/list_folder/continue", map[string]string{"cursor": page.Cursor}
		page.Entries, page.Cursor, page.HasMore = nil, "", false
	}
}
