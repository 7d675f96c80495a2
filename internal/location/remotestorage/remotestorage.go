// Package remotestorage is the location scheme of a store in a folder of a
// remoteStorage account, rs:USER@HOST/FOLDER (remotestorage: is accepted
// too): the sign-in saved by "vaultdb login remotestorage USER@HOST", and
// the login and logout flows.
package remotestorage

import (
	"context"
	"regexp"
	"strings"

	"github.com/vaultdb/vaultdb/adapters"
	rs "github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/internal/location"
)

// Module is the remoteStorage folder (the "module" of an OAuth scope) a
// sign-in grants access to; stores live in it or below it.
const Module = "vaultdb"

// Scope is the OAuth scope vaultdb asks for.
const Scope = Module + ":rw"

// Scheme is a store in a remoteStorage folder.
var Scheme = &location.Scheme{
	Name:    "remotestorage",
	Aliases: []string{"rs"},
	Usage:   "rs:USER@HOST[/FOLDER]",
	Parse:   parse,
	Open:    open,
	Login:   login,
	Logout:  logout,
	LoginArgs: func(where string) []string {
		acct, _, err := splitWhere(where)
		if err != nil {
			return nil
		}
		return []string{acct.String()}
	},
	Layers: func(o *stack.Options) {
		// The adapter makes single attempts; retries are the stack's.
		if o.Retry == nil {
			o.Retry = &retry.Options{}
		}
	},
}

var segmentRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// splitWhere splits USER@HOST[/FOLDER] into the account and the folder
// (default "vaultdb").
func splitWhere(rest string) (rs.Account, string, error) {
	acctPart, folder, _ := strings.Cut(rest, "/")
	acct, err := rs.ParseAccount(acctPart)
	if err != nil {
		return rs.Account{}, "", location.Usagef("store %q: %v; a remoteStorage store is rs:USER@HOST or rs:USER@HOST/%s/NAME", "rs:"+rest, err, Module)
	}
	folder = strings.Trim(folder, "/")
	if folder == "" {
		folder = Module
	}
	segs := strings.Split(folder, "/")
	for _, seg := range segs {
		if !segmentRe.MatchString(seg) || seg == "." || seg == ".." {
			return rs.Account{}, "", location.Usagef("store %q: folder %q may contain only letters, digits and . _ - between slashes", "rs:"+rest, folder)
		}
	}
	if segs[0] != Module {
		return rs.Account{}, "", location.Usagef("store %q: the folder must be %s or inside it (%s/NAME): the sign-in gives vaultdb access to that folder only", "rs:"+rest, Module, Module)
	}
	return acct, folder, nil
}

func parse(rest string) (string, error) {
	acct, folder, err := splitWhere(rest)
	if err != nil {
		return "", err
	}
	return acct.String() + "/" + folder, nil
}

// open loads the account's saved sign-in and returns the adapter for the
// folder. It makes no request: the storage root was found at login.
func open(_ context.Context, env *location.Env, where string) (adapters.Adapter, error) {
	acct, folder, err := splitWhere(where)
	if err != nil {
		return nil, err
	}
	path, err := tokenPath(env)
	if err != nil {
		return nil, err
	}
	tf, err := loadTokens(path)
	if err != nil {
		return nil, location.NotSignedInf("cannot use the remoteStorage sign-in: %v", err)
	}
	s, ok := tf.Accounts[acct.String()]
	if !ok || s.AccessToken == "" {
		return nil, location.NotSignedInf("not signed in to remoteStorage account %s (no sign-in for it in %s)", acct, path)
	}
	ep := rs.Endpoints{StorageRoot: s.StorageRoot}
	a, err := rs.New(rs.Options{Root: ep.FolderURL(folder), Token: s.AccessToken})
	if err != nil {
		return nil, location.NotSignedInf("the sign-in for %s in %s is not usable: %v", acct, path, err)
	}
	return a, nil
}
