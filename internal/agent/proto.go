// Package agent keeps unwrapped store keys in a long-running process so
// that commands need not derive them from the passphrase each time, as
// ssh-agent and gpg-agent do for their keys.
//
// The agent serves keys, never entries: a command still reads the store
// itself. It listens on a unix socket in a directory only its user can
// enter (Dir), answers only peers of its own uid (SO_PEERCRED), holds the
// keys of each store under the store's location together with the
// identity of the config they were unwrapped from, forgets them after an
// idle timeout or when asked, and never writes them anywhere.
//
// What it does not protect against: any process of the same user can ask
// it for the keys, as it can ask ssh-agent to sign. It keeps other users
// out, keeps the keys out of core dumps, swap (where mlock is allowed) and
// ptrace, and bounds how long they stay after the last use.
//
// The protocol is one request and one answer per connection, each a frame:
// a 4-byte big-endian length (at most maxFrame) and a body. A body is an
// operation (or status) byte followed by fields, each a 2-byte big-endian
// length and its bytes.
package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Operations.
const (
	opGet    = 'g' // location, config id ("" = any): the keys, or a miss
	opPut    = 'p' // location, config id, shards, cipher key, router key
	opForget = 'f' // location ("" = every store): how many were forgotten
)

// Answers.
const (
	ansOK    = 'k'
	ansMiss  = 'm'
	ansError = 'e'
)

// maxFrame bounds what either side reads: a location, a config id and
// two keys fit many times over.
const maxFrame = 16 << 10

// Key sizes of a store (format.Keys).
const (
	cipherLen = 32
	routerLen = 64
)

// Entry is what the agent holds for one store.
type Entry struct {
	// ConfigID identifies the config the keys were unwrapped from
	// (vault.Locked.ConfigID).
	ConfigID string
	// Shards is the store's shard count under that config.
	Shards int
	// Cipher and Router are the store's keys: secrets.
	Cipher, Router []byte
}

// String keeps the keys out of anything printed with %v.
func (e *Entry) String() string {
	return fmt.Sprintf("agent entry (config %.12s, %d shards, keys withheld)", e.ConfigID, e.Shards)
}

// Wipe overwrites the keys.
func (e *Entry) Wipe() {
	if e == nil {
		return
	}
	clear(e.Cipher)
	clear(e.Router)
}

func writeFrame(w io.Writer, kind byte, fields ...[]byte) error {
	n := 1
	for _, f := range fields {
		if len(f) > 0xffff {
			return errors.New("agent: field too long")
		}
		n += 2 + len(f)
	}
	if n > maxFrame {
		return errors.New("agent: message too long")
	}
	buf := make([]byte, 0, 4+n)
	buf = binary.BigEndian.AppendUint32(buf, uint32(n))
	buf = append(buf, kind)
	for _, f := range fields {
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(f)))
		buf = append(buf, f...)
	}
	defer clear(buf)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one frame; the caller wipes the body's fields if they
// hold keys (they share the body's memory, returned as body).
func readFrame(r io.Reader) (kind byte, fields [][]byte, body []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 1 || n > maxFrame {
		return 0, nil, nil, fmt.Errorf("agent: message of %d bytes (at most %d)", n, maxFrame)
	}
	body = make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		clear(body)
		return 0, nil, nil, err
	}
	kind, rest := body[0], body[1:]
	for len(rest) > 0 {
		if len(rest) < 2 {
			clear(body)
			return 0, nil, nil, errors.New("agent: truncated field")
		}
		l := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+l {
			clear(body)
			return 0, nil, nil, errors.New("agent: truncated field")
		}
		fields = append(fields, rest[2:2+l:2+l])
		rest = rest[2+l:]
	}
	return kind, fields, body, nil
}
