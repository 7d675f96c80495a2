package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/term"
)

// argvSecret matches examples that put a secret in another program's
// arguments or in a file others may read: $(vaultdb get ...) inside a URL
// or a curl -u, and an export redirected to a file.
var argvSecret = []*regexp.Regexp{
	regexp.MustCompile(`://[^ "]*\$\(vaultdb (get|totp)`),
	regexp.MustCompile(`-u "?[^ "]*\$\(vaultdb`),
	regexp.MustCompile(`--password[= ]"?\$\(vaultdb`),
	regexp.MustCompile(`vaultdb export[^|\n]*> *[^ ]+\.json\b`),
}

// The examples in --help and the README never leak secrets through argv,
// URLs kept in .git/config, or a clear-text file others may read (issue
// 12 point 13).
func TestExamplesKeepSecretsOutOfArgv(t *testing.T) {
	check := func(where, text string) {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "Do not") || strings.Contains(line, "`curl -u") {
				continue // the README's warning quotes the bad pattern
			}
			for _, re := range argvSecret {
				if re.MatchString(line) {
					t.Errorf("%s: unsafe example: %s", where, strings.TrimSpace(line))
				}
			}
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check(c.CommandPath()+" --help", c.Long+"\n"+c.Example)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCmd(&Factory{IO: &term.IOStreams{}}))
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	check("README.md", string(readme))
}
