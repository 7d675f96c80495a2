//go:build !webembed

package webui

import "io/fs"

// Site returns ErrNotBuilt: this binary was built without the page (see
// the package documentation).
func Site() (fs.FS, error) { return nil, ErrNotBuilt }
