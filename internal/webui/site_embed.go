//go:build webembed

package webui

import (
	"embed"
	"io/fs"
)

// site is what "make web" writes, built into internal/webui/site by "make
// build" before the binary.
//
//go:embed all:site
var site embed.FS

// Site returns the page's files.
func Site() (fs.FS, error) {
	s, err := fs.Sub(site, "site")
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(s, "vaultdb.wasm"); err != nil {
		return nil, ErrNotBuilt
	}
	return s, nil
}
