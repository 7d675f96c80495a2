package cli

import (
	"strings"

	"github.com/vaultdb/vaultdb/vault/format"
)

// absPath gives a user path its leading "/": "github/password" means
// "/github/password".
func absPath(arg string) string {
	if !strings.HasPrefix(arg, "/") {
		return "/" + arg
	}
	return arg
}

// docPath turns an argument into a document path, checked before any I/O.
// A path ending in "/" is a directory and gets a clear error.
func docPath(arg string) (string, error) {
	p := absPath(arg)
	if format.IsDir(p) {
		return "", usageErrorf("%s is a directory, not an entry: give the path of an entry, such as %sname", p, p)
	}
	if err := format.CheckDoc(p); err != nil {
		return "", err
	}
	return p, nil
}

// dirPath turns an argument into a directory path (with a trailing "/"),
// checked before any I/O. "" and "/" are the root.
func dirPath(arg string) (string, error) {
	p := absPath(arg)
	if !format.IsDir(p) {
		p += "/"
	}
	if err := format.CheckDir(p); err != nil {
		return "", err
	}
	return p, nil
}
