package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestMoveDirectory moves directories of 1, 2 and 50 entries, the README's
// `vaultdb mv email mail`: no ghost of the old name may stay behind (with 2
// or more entries the old engine left `email/` listed, `ls email` failing
// and fsck reporting it).
func TestMoveDirectory(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			s.must("", "init", "--iterations", "1000", "--shards", "4")
			entries := map[string]string{"keep": "k"}
			for i := range n {
				entries[fmt.Sprintf("email/e%02d", i)] = fmt.Sprintf("v%d", i)
			}
			data, _ := json.Marshal(entries)
			s.must(string(data), "import", "-")

			s.must("", "mv", "email", "mail")

			check(t, s.run("", nil, "ls"), 0, "keep\nmail/\n", "")
			check(t, s.run("", nil, "ls", "email"), 3, "", "email")
			check(t, s.run("", nil, "fsck"), 0, "*", "")
			var want []string
			for i := range n {
				want = append(want, fmt.Sprintf("e%02d", i))
			}
			check(t, s.run("", nil, "ls", "mail"), 0, strings.Join(want, "\n")+"\n", "")
			check(t, s.run("", nil, "get", fmt.Sprintf("mail/e%02d", n-1)), 0, fmt.Sprintf("v%d\n", n-1), "")
		})
	}
}
