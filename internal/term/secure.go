package term

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxSecretFile bounds what is read of a passphrase file: its first line
// is the passphrase, and a pipe or device could be endless.
const maxSecretFile = 64 << 10

// ReadSecretFile returns the first line of a file, without its line end.
// A regular file that other users may read (or write) is refused, as ssh
// refuses such a private key: the passphrase would be theirs too.
func ReadSecretFile(name string) ([]byte, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read the passphrase file: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the passphrase file: %w", err)
	}
	if st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the passphrase file %s may be read or changed by other users (mode %04o); nothing was read: run \"chmod 600 %s\"", name, st.Mode().Perm(), name)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxSecretFile))
	if err != nil {
		Wipe(data)
		return nil, fmt.Errorf("cannot read the passphrase file: %w", err)
	}
	defer Wipe(data)
	line := data
	i := bytes.IndexByte(line, '\n')
	if i < 0 && len(data) == maxSecretFile {
		return nil, errors.New("the passphrase file " + name + " has no line end in its first 64 KiB")
	}
	if i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return nil, fmt.Errorf("the passphrase file %s has an empty first line", name)
	}
	return bytes.Clone(line), nil
}
