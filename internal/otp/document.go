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

// FromDocument reads the TOTP key of a stored entry: a TOTP document
// ({"type": "totp", "secret": ..., absent digits, period and algorithm
// being 6, 30 and SHA1}), or any object whose field "totp" holds an
// otpauth:// URI or a base32 secret (as imports make). It fails with
// ErrNotDocument for an entry with neither, and never quotes the secret.
func FromDocument(v []byte) (Key, error) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) != nil || obj == nil {
		return Key{}, ErrNotDocument
	}
	var typ string
	if t, ok := obj["type"]; ok && json.Unmarshal(t, &typ) == nil && typ == "totp" {
		var d struct {
			Secret    *string `json:"secret"`
			Digits    *int    `json:"digits"`
			Period    *int    `json:"period"`
			Algorithm *string `json:"algorithm"`
			Issuer    string  `json:"issuer"`
			Account   string  `json:"account"`
		}
		if err := json.Unmarshal(v, &d); err != nil {
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
		return k, k.Validate()
	}
	var s string
	if f, ok := obj["totp"]; !ok || json.Unmarshal(f, &s) != nil {
		return Key{}, ErrNotDocument
	}
	s = strings.TrimSpace(s)
	var k Key
	var err error
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
