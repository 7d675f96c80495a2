package term

import (
	"context"
	"errors"
	"io"
	"unicode/utf8"
)

// ErrCancelled: the user pressed Ctrl-D at a prompt.
var ErrCancelled = &cancelError{}

// cancelError matches context.Canceled, so that a cancelled prompt exits
// like Ctrl-C, with its own message.
type cancelError struct{}

func (*cancelError) Error() string        { return "cancelled; nothing was changed" }
func (*cancelError) Is(target error) bool { return target == context.Canceled }

// ErrMultiLinePaste: several lines were pasted at a prompt that reads one.
// They were all thrown away, so that none reaches the shell.
var ErrMultiLinePaste = errors.New("what was pasted has several lines, but this prompt reads one line; it was thrown away whole and nothing was changed")

// Bracketed paste (xterm and most terminals since): the terminal wraps a
// paste in these, so that a newline in it is not Enter.
const (
	pasteModeOn  = "\x1b[?2004h"
	pasteModeOff = "\x1b[?2004l"
	pasteStart   = "[200~"
	pasteEnd     = "[201~"
)

// SecretLine reads one line typed or pasted at a prompt without echo, from
// a terminal in non-canonical mode (so that it sees every byte, and the
// markers of a bracketed paste). More lines pasted at once are refused
// whole: pending reports input waiting after a line end, drain throws the
// terminal's input away. Ctrl-D on an empty line cancels; backspace and
// Ctrl-U edit; other escape sequences (arrow keys) are ignored.
func SecretLine(r io.Reader, pending func() bool, drain func()) ([]byte, error) {
	line := make([]byte, 0, 128)
	var b [1]byte
	next := func() (byte, error) {
		for {
			n, err := r.Read(b[:])
			if n == 1 {
				return b[0], nil
			}
			if err != nil {
				return 0, err
			}
		}
	}
	add := func(c byte) {
		if len(line) == cap(line) {
			bigger := make([]byte, len(line), 2*cap(line))
			copy(bigger, line)
			Wipe(line)
			line = bigger
		}
		line = append(line, c)
	}
	fail := func(err error) ([]byte, error) {
		Wipe(line)
		return nil, err
	}
	inPaste, newlineInPaste, multiLine := false, false, false
	for {
		c, err := next()
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) == 0 {
				return fail(ErrCancelled)
			}
			return fail(err)
		}
		switch {
		case c == 0x1b:
			seq, err := escapeSequence(next)
			if err != nil {
				return fail(err)
			}
			switch seq {
			case pasteStart:
				inPaste = true
			case pasteEnd:
				inPaste = false
				if multiLine {
					drain()
					return fail(ErrMultiLinePaste)
				}
				if newlineInPaste { // one line and its line end
					return line, nil
				}
			}
		case inPaste && (c == '\r' || c == '\n'):
			newlineInPaste = true
		case inPaste:
			if newlineInPaste {
				multiLine = true
			}
			add(c)
		case c == '\r' || c == '\n':
			if pending() {
				drain()
				return fail(ErrMultiLinePaste)
			}
			return line, nil
		case c == 0x04: // Ctrl-D
			if len(line) == 0 {
				return fail(ErrCancelled)
			}
		case c == 0x7f || c == 0x08: // backspace
			if len(line) > 0 {
				_, size := utf8.DecodeLastRune(line)
				for i := len(line) - size; i < len(line); i++ {
					line[i] = 0
				}
				line = line[:len(line)-size]
			}
		case c == 0x15: // Ctrl-U
			Wipe(line)
			line = line[:0]
		case c < 0x20 && c != '\t':
			// Other control keys mean nothing here.
		default:
			add(c)
		}
	}
}

// escapeSequence reads the rest of an escape sequence after ESC: a CSI
// sequence "[" params final, returned whole, or one other byte ("").
func escapeSequence(next func() (byte, error)) (string, error) {
	c, err := next()
	if err != nil || c != '[' {
		return "", err
	}
	seq := []byte{'['}
	for len(seq) < 32 {
		c, err := next()
		if err != nil {
			return "", err
		}
		seq = append(seq, c)
		if c >= 0x40 && c <= 0x7e {
			break
		}
	}
	return string(seq), nil
}
