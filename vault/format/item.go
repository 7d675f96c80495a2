package format

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// Layout of an encrypted line, after base64 (design §2.4).
const (
	ivSize      = 12
	tagSize     = 16
	keySize     = 32 // AES-256 keys: the cipher key, item keys, the password key
	routerSize  = 64
	itemVersion = 0x0001
	// wrappedItemKey is iv1 || GCM(cipherKey, itemKey) || tag.
	wrappedItemKey = ivSize + keySize + tagSize
	// itemOverhead is everything but the plaintext.
	itemOverhead = 2 + wrappedItemKey + ivSize + tagSize
)

// newGCM returns AES-256-GCM under key, which must be 32 bytes.
func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("key must be %d bytes, got %d", keySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// EncryptItem encrypts one line of a shard (the index or a value) under a
// fresh random item key, itself encrypted under cipherKey, so that any line
// can be re-encrypted alone and a passphrase change touches no shard.
func EncryptItem(rnd io.Reader, cipherKey, plaintext []byte) (string, error) {
	aead, err := newGCM(cipherKey)
	if err != nil {
		return "", fmt.Errorf("failed to encrypt item: cipher %w", err)
	}
	return encryptItem(rnd, aead, plaintext)
}

func encryptItem(rnd io.Reader, aead cipher.AEAD, plaintext []byte) (string, error) {
	r, err := randomBytes(rnd, keySize+2*ivSize)
	if err != nil {
		return "", fmt.Errorf("failed to encrypt item: %w", err)
	}
	itemKey, iv1, iv2 := r[:keySize], r[keySize:keySize+ivSize], r[keySize+ivSize:]
	itemAEAD, err := newGCM(itemKey)
	if err != nil {
		return "", fmt.Errorf("failed to encrypt item: %w", err)
	}
	out := make([]byte, 0, itemOverhead+len(plaintext))
	out = append(out, itemVersion>>8, itemVersion&0xff)
	out = append(out, iv1...)
	out = aead.Seal(out, iv1, itemKey, nil)
	out = append(out, iv2...)
	out = itemAEAD.Seal(out, iv2, plaintext, nil)
	clear(r)
	return base64.StdEncoding.EncodeToString(out), nil
}

// DecryptItem decrypts one encrypted line. Errors for damaged or forged
// lines match ErrCorrupt; a cipherKey of the wrong size is the caller's bug
// and does not.
func DecryptItem(cipherKey []byte, line string) ([]byte, error) {
	aead, err := newGCM(cipherKey)
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt item: cipher %w", err)
	}
	pt, err := decryptItem(aead, line)
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt item: %w", err)
	}
	return pt, nil
}

var (
	errItemBase64  = corruptDetail("not valid base64")
	errItemShort   = corruptDetail("too short for an encrypted item")
	errItemKeyAuth = corruptDetail("item key failed to authenticate (wrong store or tampered data)")
	errItemAuth    = corruptDetail("ciphertext failed to authenticate (tampered data)")
)

func decryptItem(aead cipher.AEAD, line string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		return nil, errItemBase64
	}
	if len(raw) < itemOverhead {
		return nil, errItemShort
	}
	if v := int(raw[0])<<8 | int(raw[1]); v != itemVersion {
		return nil, corruptDetail(fmt.Sprintf("unknown item format version %d", v))
	}
	raw = raw[2:]
	itemKey, err := aead.Open(nil, raw[:ivSize], raw[ivSize:wrappedItemKey], nil)
	if err != nil {
		return nil, errItemKeyAuth
	}
	defer clear(itemKey)
	raw = raw[wrappedItemKey:]
	itemAEAD, err := newGCM(itemKey)
	if err != nil {
		return nil, errors.New("failed to decrypt item: unexpected item key size")
	}
	// Decrypt in place: raw is our own copy from base64.
	pt, err := itemAEAD.Open(raw[ivSize:ivSize], raw[:ivSize], raw[ivSize:], nil)
	if err != nil {
		return nil, errItemAuth
	}
	return pt, nil
}
