// Package importer reads what other password managers export into
// entries for vaultdb: the JSON object that "vaultdb export" prints, CSV
// exports of KeePassXC, Bitwarden and 1Password, and pass stores
// (decrypted with gpg). It writes nothing; its errors never quote a value.
package importer

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vaultdb/vaultdb/internal/entry"
)

// ErrCSVHeader: the CSV input is not an export this package knows.
var ErrCSVHeader = errors.New("the CSV header is not one of KeePassXC (Group,Title,Username,Password,...), Bitwarden (folder,...,name,...,login_username,login_password,...) or 1Password (Title,Website,Username,Password,...); nothing was imported")

// csvLayout is where a password manager's CSV export keeps each field:
// column indexes, -1 when absent.
type csvLayout struct {
	name                                       string
	group, title, user, pass, url, notes, totp int
	fields                                     int  // Bitwarden's custom fields, "name: value" lines
	dropRoot                                   bool // the group path starts with the root group's name
}

// csvHeaders recognises an export by its header names (compared without
// case): KeePassXC "Group","Title","Username","Password","URL","Notes",
// "TOTP","Icon","Last Modified","Created"; Bitwarden folder,favorite,type,
// name,notes,fields,reprompt,login_uri,login_username,login_password,
// login_totp; 1Password Title,Website,Username,Password,One-time password,
// Favorite status,Archived status,Tags,Notes.
func csvHeaders(header []string) (csvLayout, bool) {
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	at := func(name string) int {
		if i, ok := col[name]; ok {
			return i
		}
		return -1
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if at(n) < 0 {
				return false
			}
		}
		return true
	}
	switch {
	case has("name", "login_username", "login_password"):
		return csvLayout{name: "Bitwarden", group: at("folder"), title: at("name"),
			user: at("login_username"), pass: at("login_password"), url: at("login_uri"),
			notes: at("notes"), totp: at("login_totp"), fields: at("fields")}, true
	case has("group", "title", "username", "password"):
		return csvLayout{name: "KeePassXC", group: at("group"), title: at("title"),
			user: at("username"), pass: at("password"), url: at("url"),
			notes: at("notes"), totp: at("totp"), fields: -1, dropRoot: true}, true
	case has("title", "website", "username", "password"):
		return csvLayout{name: "1Password", group: -1, title: at("title"),
			user: at("username"), pass: at("password"), url: at("website"),
			notes: at("notes"), totp: at("one-time password"), fields: -1}, true
	}
	return csvLayout{}, false
}

// ReadCSV reads a CSV export of KeePassXC, Bitwarden or 1Password.
// Each row becomes the object {username, password, url, notes[, totp]}
// (plus Bitwarden's custom fields) at GROUP/TITLE. Its errors never quote
// the content.
func ReadCSV(r io.Reader) ([]Entry, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the CSV input is empty; nothing was imported")
	}
	if err != nil {
		return nil, csvError(err)
	}
	layout, ok := csvHeaders(header)
	if !ok {
		return nil, ErrCSVHeader
	}
	var entries []Entry
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		get := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return rec[i]
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // a blank line
		}
		var segs []string
		if layout.group >= 0 {
			gs := strings.Split(get(layout.group), "/")
			if layout.dropRoot && len(gs) > 0 {
				gs = gs[1:]
			}
			for _, g := range gs {
				if s := entry.Segment(g); s != "" {
					segs = append(segs, s)
				}
			}
		}
		title := entry.Segment(get(layout.title))
		if title == "" {
			title = "untitled"
		}
		p := strings.Join(append(segs, title), "/")
		// Two entries with the same title in one group: "title (2)".
		for base, n := p, 2; seen[p]; n++ {
			p = fmt.Sprintf("%s (%d)", base, n)
		}
		seen[p] = true

		fs := []entry.Field{
			{Key: "username", Value: entry.String(get(layout.user))},
			{Key: "password", Value: entry.String(get(layout.pass))},
			{Key: "url", Value: entry.String(get(layout.url))},
			{Key: "notes", Value: entry.String(get(layout.notes))},
		}
		if t := get(layout.totp); t != "" {
			fs = append(fs, entry.Field{Key: "totp", Value: entry.String(t)})
		}
		for _, line := range strings.Split(get(layout.fields), "\n") {
			k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ": ")
			k = strings.TrimSpace(k)
			if !ok || k == "" || hasField(fs, k) {
				continue
			}
			fs = append(fs, entry.Field{Key: k, Value: entry.String(v)})
		}
		entries = append(entries, Entry{Path: p, Value: entry.MarshalObject(fs)})
	}
	return entries, nil
}

func hasField(fs []entry.Field, k string) bool {
	for _, f := range fs {
		if f.Key == k {
			return true
		}
	}
	return false
}

// csvError reports a CSV syntax error by line, without its content.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("the CSV input is not valid (line %d); nothing was imported", pe.Line)
	}
	return fmt.Errorf("cannot read the CSV input: %w", err)
}
