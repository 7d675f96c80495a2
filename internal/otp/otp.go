// Package otp computes one-time passwords: HOTP (RFC 4226) and TOTP
// (RFC 6238) with HMAC-SHA-1, -256 or -512, and reads and writes the
// otpauth:// URIs that authenticator apps exchange (the "Key Uri Format"
// of Google Authenticator).
//
// No error of this package ever contains a secret or a URI: they say what
// is wrong and where, never the text itself.
package otp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Algorithm is the HMAC hash function of a key.
type Algorithm string

// The algorithms of RFC 6238.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

// Defaults and limits of the key parameters.
const (
	DefaultAlgorithm = SHA1
	DefaultDigits    = 6
	DefaultPeriod    = 30
	MinDigits        = 6
	MaxDigits        = 10
	MaxPeriod        = 86400 // seconds
)

// ParseAlgorithm reads an algorithm name: SHA1, SHA256 or SHA512, in any
// case, with or without a hyphen ("sha-256").
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToUpper(strings.ReplaceAll(s, "-", "")) {
	case "SHA1":
		return SHA1, nil
	case "SHA256":
		return SHA256, nil
	case "SHA512":
		return SHA512, nil
	}
	return "", fmt.Errorf("unsupported algorithm %q: use SHA1, SHA256 or SHA512", clip(s))
}

func (a Algorithm) hash() (func() hash.Hash, error) {
	switch a {
	case SHA1:
		return sha1.New, nil
	case SHA256:
		return sha256.New, nil
	case SHA512:
		return sha512.New, nil
	}
	return nil, fmt.Errorf("unsupported algorithm %q: use SHA1, SHA256 or SHA512", clip(string(a)))
}

// HOTP returns the RFC 4226 one-time password of secret for counter: the
// dynamic truncation of HMAC(secret, counter) modulo 10^digits, padded
// with leading zeros to digits digits.
func HOTP(alg Algorithm, secret []byte, counter uint64, digits int) (string, error) {
	h, err := alg.hash()
	if err != nil {
		return "", err
	}
	if err := checkDigits(digits); err != nil {
		return "", err
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(h, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	// Dynamic truncation (RFC 4226 §5.3): the low 4 bits of the last byte
	// give the offset of 4 bytes, of which the top bit is dropped.
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint64(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, uint64(bin)%mod), nil
}

// Counter returns the RFC 6238 time step of t for period seconds (T0 = 0):
// floor(unix time / period).
func Counter(t time.Time, period int) (uint64, error) {
	if err := checkPeriod(period); err != nil {
		return 0, err
	}
	u := t.Unix()
	if u < 0 {
		return 0, errors.New("the time is before 1970-01-01T00:00:00Z, where TOTP counting starts")
	}
	return uint64(u) / uint64(period), nil
}

// TOTP returns the RFC 6238 one-time password of secret at time t.
func TOTP(alg Algorithm, secret []byte, t time.Time, period, digits int) (string, error) {
	c, err := Counter(t, period)
	if err != nil {
		return "", err
	}
	return HOTP(alg, secret, c, digits)
}

// Key is a TOTP key and what an authenticator app shows with it.
type Key struct {
	Issuer  string // the service, e.g. "GitHub"; may be empty
	Account string // the user name at the service; may be empty
	// Secret is the shared secret in canonical base32: upper case, no
	// spaces, no padding (see NormalizeSecret).
	Secret    string
	Algorithm Algorithm
	Digits    int
	Period    int // seconds
}

// NewKey returns a key for a base32 secret, as an app would print it
// (lower case, spaces and missing padding are fine), with the default
// parameters.
func NewKey(secret string) (Key, error) {
	s, err := NormalizeSecret(secret)
	if err != nil {
		return Key{}, err
	}
	return Key{Secret: s, Algorithm: DefaultAlgorithm, Digits: DefaultDigits, Period: DefaultPeriod}, nil
}

// Validate checks every parameter of k and that its secret is canonical
// base32.
func (k Key) Validate() error {
	if _, err := k.Algorithm.hash(); err != nil {
		return err
	}
	if err := checkDigits(k.Digits); err != nil {
		return err
	}
	if err := checkPeriod(k.Period); err != nil {
		return err
	}
	s, err := NormalizeSecret(k.Secret)
	if err != nil {
		return err
	}
	if s != k.Secret {
		return errors.New("the secret is not in canonical base32 (upper case, no spaces or padding)")
	}
	return nil
}

// SecretBytes returns the decoded secret.
func (k Key) SecretBytes() ([]byte, error) {
	return decodeSecret(k.Secret)
}

// Code returns the TOTP code of k at time t.
func (k Key) Code(t time.Time) (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	secret, err := k.SecretBytes()
	if err != nil {
		return "", err
	}
	defer wipe(secret)
	return TOTP(k.Algorithm, secret, t, k.Period, k.Digits)
}

// Remaining returns the whole seconds left in the period that contains t,
// from 1 to k.Period.
func (k Key) Remaining(t time.Time) int {
	if k.Period <= 0 {
		return 0
	}
	p := int64(k.Period)
	r := t.Unix() % p
	if r < 0 {
		r += p
	}
	return int(p - r)
}

func checkDigits(d int) error {
	if d < MinDigits || d > MaxDigits {
		return fmt.Errorf("unsupported number of digits %d: use %d to %d (6 or 8 in practice)", d, MinDigits, MaxDigits)
	}
	return nil
}

func checkPeriod(p int) error {
	if p < 1 || p > MaxPeriod {
		return fmt.Errorf("unsupported period %d: use 1 to %d seconds (30 in practice)", p, MaxPeriod)
	}
	return nil
}

// b32 is base32 (RFC 4648) without padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NormalizeSecret returns a base32 secret in canonical form: upper case,
// without the spaces, hyphens and "=" padding that apps put in for
// readability. The secret must decode to at least one byte.
func NormalizeSecret(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '-':
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '2' && r <= '7', r == '=':
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("the secret is not valid base32: the character at byte %d is not a letter or a digit 2-7", i+1)
		}
	}
	c := b.String()
	trimmed := strings.TrimRight(c, "=")
	if strings.Contains(trimmed, "=") {
		return "", errors.New("the secret is not valid base32: \"=\" padding in the middle")
	}
	if len(trimmed) == 0 {
		return "", errors.New("the secret is empty")
	}
	switch len(trimmed) % 8 {
	case 1, 3, 6:
		return "", fmt.Errorf("the secret is not valid base32: %d characters cannot be a whole number of bytes", len(trimmed))
	}
	if _, err := b32.DecodeString(trimmed); err != nil {
		return "", errors.New("the secret is not valid base32")
	}
	return trimmed, nil
}

func decodeSecret(canonical string) ([]byte, error) {
	b, err := b32.DecodeString(canonical)
	if err != nil || len(b) == 0 {
		return nil, errors.New("the secret is not valid base32")
	}
	return b, nil
}

// EncodeSecret returns the canonical base32 of a raw secret.
func EncodeSecret(b []byte) string { return b32.EncodeToString(b) }

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// clip shortens untrusted text quoted in a message.
func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}
