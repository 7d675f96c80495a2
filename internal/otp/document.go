package otp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrNotDocument: a stored entry that holds no TOTP key.
var ErrNotDocument = errors.New("not a TOTP entry")

// document is the stored shape of a TOTP entry, as "vaultdb totp add"
// and the reference write it.
type document struct {
	Type      string `json:"type"`
	Secret    string `json:"secret"`
	Digits    int    `json:"digits"`
	Period    int    `json:"period"`
	Algorithm string `json:"algorithm"`
	Issuer    string `json:"issuer,omitempty"`
	Account   string `json:"account,omitempty"`
}

// Document returns the stored JSON of k: {"type": "totp", "secret": ...}.
func Document(k Key) (json.RawMessage, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(document{Type: "totp", Secret: k.Secret, Digits: k.Digits, Period: k.Period,
		Algorithm: string(k.Algorithm), Issuer: k.Issuer, Account: k.Account})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// ParseDocument reads a TOTP document ({"type": "totp", "secret": ...};
// absent digits, period and algorithm are 6, 30 and SHA1). It fails with
// ErrNotDocument for a value without that marker, and with another error,
// never quoting the secret, for a damaged one.
func ParseDocument(v []byte) (Key, error) {
	var marker struct {
		Type any `json:"type"`
	}
	if !isObject(v) || json.Unmarshal(v, &marker) != nil || marker.Type != "totp" {
		return Key{}, ErrNotDocument
	}
	var d struct {
		Secret    *string `json:"secret"`
		Digits    *int    `json:"digits"`
		Period    *int    `json:"period"`
		Algorithm *string `json:"algorithm"`
		Issuer    string  `json:"issuer"`
		Account   string  `json:"account"`
	}
	if err := json.Unmarshal(v, &d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Key{}, fmt.Errorf("its field %q is %s, which is the wrong type", te.Field, te.Value)
		}
		return Key{}, errors.New("it is not a valid TOTP object")
	}
	if d.Secret == nil {
		return Key{}, errors.New("it has no secret")
	}
	k, err := NewKey(*d.Secret)
	if err != nil {
		return Key{}, err
	}
	k.Issuer, k.Account = d.Issuer, d.Account
	if d.Digits != nil {
		k.Digits = *d.Digits
	}
	if d.Period != nil {
		k.Period = *d.Period
	}
	if d.Algorithm != nil {
		if k.Algorithm, err = ParseAlgorithm(*d.Algorithm); err != nil {
			return Key{}, err
		}
	}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// FromDocument reads the TOTP key of any stored entry: a TOTP document
// (ParseDocument), or an object whose field "totp" holds an otpauth:// URI
// or a base32 secret (as imports make). It fails with ErrNotDocument for
// an entry with neither, and never quotes the secret.
func FromDocument(v []byte) (Key, error) {
	k, err := ParseDocument(v)
	if !errors.Is(err, ErrNotDocument) {
		return k, err
	}
	// A map, not a struct: the key is matched exactly, and a repeated key
	// is read as JSON.parse reads it (its last value).
	var obj map[string]json.RawMessage
	var s string
	if json.Unmarshal(v, &obj) != nil || obj["totp"] == nil || json.Unmarshal(obj["totp"], &s) != nil {
		return Key{}, ErrNotDocument
	}
	s = strings.TrimSpace(s)
	if IsURI(s) {
		k, err = ParseURI(s)
	} else {
		k, err = NewKey(s)
	}
	if err != nil {
		return Key{}, fmt.Errorf("its field \"totp\" is neither an otpauth:// URI nor a base32 secret: %w", err)
	}
	return k, nil
}

// isObject reports whether v, a JSON value, is an object.
func isObject(v []byte) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] == '{'
}
