package remotestorage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/vaultdb/vaultdb/internal/location"
)

// TokenFileName is the name of the token file in vaultdb's config directory.
const TokenFileName = "remotestorage-token.json"

// tokenPath returns where the remoteStorage sign-ins are kept.
//
// The file holds bearer secrets: whoever can read it can read and change
// the vaultdb folders of the accounts in it until the tokens are revoked on
// the servers. It is created 0600 in a 0700 directory.
func tokenPath(env *location.Env) (string, error) {
	if env.ConfigDir == "" {
		err := env.ConfigDirErr
		if err == nil {
			err = errors.New("no configuration directory")
		}
		return "", location.Usagef("cannot tell where to keep the remoteStorage sign-in: %v", err)
	}
	return filepath.Join(env.ConfigDir, TokenFileName), nil
}

// signIn is one account's sign-in.
type signIn struct {
	AccessToken string `json:"access_token"`
	// StorageRoot, AuthURL and Version are what WebFinger said at login,
	// so that opening a store costs no WebFinger request.
	StorageRoot string `json:"storage_root"`
	AuthURL     string `json:"auth_url,omitempty"`
	Version     string `json:"version,omitempty"`
}

type tokenFile struct {
	Note     string            `json:"note"`
	Accounts map[string]signIn `json:"accounts"`
}

const tokenNote = "Secret: these tokens give access to the vaultdb folders of the remoteStorage accounts below. Keep this file private (mode 0600). Delete it with `vaultdb logout remotestorage`."

// loadTokens reads the token file; a missing file is an empty one. A file
// other users may read is refused.
func loadTokens(path string) (*tokenFile, error) {
	tf := &tokenFile{Accounts: map[string]signIn{}}
	f, err := location.OpenSecret(path)
	if errors.Is(err, fs.ErrNotExist) {
		return tf, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(tf); err != nil {
		return nil, fmt.Errorf("%s is damaged (delete it with \"vaultdb logout remotestorage\" and sign in again): %v", path, err)
	}
	if tf.Accounts == nil {
		tf.Accounts = map[string]signIn{}
	}
	return tf, nil
}

// saveTokens writes tf to path atomically and durably, creating the file
// 0600 and its directory 0700.
func saveTokens(path string, tf *tokenFile) error {
	tf.Note = tokenNote
	data, err := json.MarshalIndent(tf, "", "  ")
	if err != nil {
		return err
	}
	return location.WriteSecret(path, append(data, '\n'))
}
