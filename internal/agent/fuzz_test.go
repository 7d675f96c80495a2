package agent

import (
	"bytes"
	"testing"
)

// FuzzReadFrame: any bytes from a peer give a frame whose fields lie
// within its body, or an error; never a panic or a read past the bound.
func FuzzReadFrame(f *testing.F) {
	var b bytes.Buffer
	writeFrame(&b, opPut, []byte("dir:/s"), []byte("cfg"), []byte("4"), make([]byte, 32), make([]byte, 64))
	f.Add(b.Bytes())
	f.Add([]byte{0, 0, 0, 1, 'f'})
	f.Add([]byte{0, 0, 0, 3, 'g', 0, 5})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, fields, body, err := readFrame(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(body) > maxFrame || len(body) < 1 || body[0] != kind {
			t.Fatalf("body of %d bytes, kind %q", len(body), kind)
		}
		n := 1
		for _, fl := range fields {
			n += 2 + len(fl)
		}
		if n != len(body) {
			t.Fatalf("fields cover %d of %d bytes", n, len(body))
		}
		// What was read writes back the same.
		var out bytes.Buffer
		if err := writeFrame(&out, kind, fields...); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes()[4:], body) {
			t.Fatal("a frame does not write back as read")
		}
	})
}
