package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vaultdb/vaultdb/internal/entry"
	"github.com/vaultdb/vaultdb/internal/jsonobj"
)

// Entry is one entry to import: its path (relative to the import's
// prefix; a leading "/" is optional), its value, or why it cannot be
// imported.
type Entry struct {
	Path  string
	Value json.RawMessage
	Err   error
}

// ReadJSON reads the object {"path": value, ...} that export prints.
// Its errors never quote a value.
func ReadJSON(r io.Reader) ([]Entry, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("cannot read the input: %w", err)
	}
	defer clear(data)
	// ParseAll, not Parse: a path given twice is reported, not silently
	// read as its last value.
	ms, err := jsonobj.ParseAll(data)
	var se *jsonobj.SyntaxError
	switch {
	case errors.As(err, &se):
		return nil, fmt.Errorf("the input is not a JSON object {\"path\": value, ...} (error near byte %d); nothing was imported", se.Offset)
	case err != nil:
		return nil, errors.New("the input is not a JSON object {\"path\": value, ...}; nothing was imported")
	}
	var entries []Entry
	for _, m := range ms {
		val, err := entry.ParseValue(m.Value)
		clear(m.Value)
		entries = append(entries, Entry{Path: m.Key, Value: val, Err: err})
	}
	return entries, nil
}
