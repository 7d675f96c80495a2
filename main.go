// Command vaultdb is a command-line password manager over an encrypted
// document store. See README.md.
package main

import (
	"os"

	"github.com/vaultdb/vaultdb/internal/cli"
)

func main() { os.Exit(cli.Main()) }
