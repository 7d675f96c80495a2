package dropbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	dbx "github.com/vaultdb/vaultdb/adapters/dropbox"

	"github.com/vaultdb/vaultdb/internal/location"
)

// TokenFileName is the name of the token file in vaultdb's config directory.
const TokenFileName = "dropbox-token.json"

// tokenPath returns where the Dropbox sign-in is kept: dropbox-token.json
// in vaultdb's configuration directory.
//
// The file holds a bearer secret: whoever can read it can read and change
// the files of the linked Dropbox account until the sign-in is revoked (with
// "vaultdb logout dropbox", or in Dropbox's account settings). It is created
// 0600 in a 0700 directory and never written to the store itself.
func tokenPath(env *location.Env) (string, error) {
	if env.ConfigDir == "" {
		err := env.ConfigDirErr
		if err == nil {
			err = errors.New("no configuration directory")
		}
		return "", location.Usagef("cannot tell where to keep the Dropbox sign-in: %v", err)
	}
	return filepath.Join(env.ConfigDir, TokenFileName), nil
}

// TokenFile is the content of the token file.
type TokenFile struct {
	// AppKey is the app the token was issued to; a refresh must use it.
	AppKey    string
	AccountID string
	Token     *dbx.Token
}

type tokenFileJSON struct {
	Note         string    `json:"note"`
	AppKey       string    `json:"app_key,omitempty"`
	AccountID    string    `json:"account_id,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	AccessToken  string    `json:"access_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

const tokenNote = "Secret: these tokens give access to your Dropbox files. Keep this file private (mode 0600). Revoke with `vaultdb logout dropbox`."

// ErrNoToken is returned by LoadToken when there is no token file.
var ErrNoToken = errors.New("not signed in to Dropbox")

// LoadToken reads the token file at path. A missing file yields an error
// matching ErrNoToken; a file other users may read is refused.
func LoadToken(path string) (*TokenFile, error) {
	f, err := location.OpenSecret(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s does not exist)", ErrNoToken, path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var j tokenFileJSON
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&j); err != nil {
		return nil, fmt.Errorf("%s is damaged (sign in again to replace it): %v", path, err)
	}
	if j.RefreshToken == "" && j.AccessToken == "" {
		return nil, fmt.Errorf("%w (%s holds no token)", ErrNoToken, path)
	}
	return &TokenFile{AppKey: j.AppKey, AccountID: j.AccountID, Token: &dbx.Token{
		AccessToken: j.AccessToken, RefreshToken: j.RefreshToken, Expiry: j.Expiry, AccountID: j.AccountID,
	}}, nil
}

// SaveToken writes tf to path atomically, creating the file 0600 and its
// directory 0700.
func SaveToken(path string, tf *TokenFile) error {
	if tf == nil || tf.Token == nil {
		return errors.New("no token to save")
	}
	j := tokenFileJSON{Note: tokenNote, AppKey: tf.AppKey, AccountID: tf.AccountID,
		RefreshToken: tf.Token.RefreshToken, AccessToken: tf.Token.AccessToken, Expiry: tf.Token.Expiry}
	if j.AccountID == "" {
		j.AccountID = tf.Token.AccountID
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return location.WriteSecret(path, append(data, '\n'))
}

// RemoveToken deletes the token file; a missing file is not an error.
func RemoveToken(path string) error {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
