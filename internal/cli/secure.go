package cli

import (
	"os"

	"github.com/vaultdb/vaultdb/internal/term"
)

// secureProcess is the first thing Main does. It keeps secrets out of core
// dumps and away from other processes of the same user (term.SecureMemory: no
// core file, no ptrace attach, as KeePassXC and ssh-agent do), and removes
// $VAULTDB_PASSPHRASE from the process environment so that no child
// (the editor, gpg and a gpg-agent it starts, clipboard tools, the
// clipboard helper) inherits it. The returned LookupEnv still sees the
// passphrase for this process.
func secureProcess() func(string) (string, bool) {
	term.SecureMemory()
	pass, ok := os.LookupEnv(envPassphrase)
	if ok {
		os.Unsetenv(envPassphrase)
	}
	return func(k string) (string, bool) {
		if k == envPassphrase {
			return pass, ok
		}
		return os.LookupEnv(k)
	}
}
