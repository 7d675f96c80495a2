package format

import (
	"bytes"
	"context"
	"io"
)

// KDFParams are the public parameters of the password key derivation, as
// the config holds them: PBKDF2-HMAC-SHA256 with this salt and iteration
// count, 32 bytes out, over the NFKD normalised passphrase.
type KDFParams struct {
	Salt       []byte
	Iterations int
}

// KDF derives the 32-byte password key from a passphrase. The default is
// PBKDF2 (in Go); a browser build plugs in WebCrypto's deriveBits, which
// gives the same bytes much faster. An implementation must normalise the
// passphrase to NFKD (NormalizePassphrase) and stop with ctx's error when
// ctx is done.
type KDF func(ctx context.Context, passphrase []byte, p KDFParams) ([]byte, error)

// PBKDF2 is the KDF of the format, computed in Go; it looks at ctx about
// every millisecond.
func PBKDF2(ctx context.Context, passphrase []byte, p KDFParams) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return deriveKey(ctx, passphrase, p.Salt, p.Iterations)
}

// NormalizePassphrase returns the passphrase as the KDF must see it: NFKD
// normalised, in a new slice the caller may wipe.
func NormalizePassphrase(passphrase []byte) []byte {
	return bytes.Clone(nfkd(passphrase))
}

// KDFParams returns the config's key derivation parameters.
func (c *Config) KDFParams() KDFParams {
	return KDFParams{Salt: bytes.Clone(c.saltBytes), Iterations: c.iterations}
}

// NewConfigKDF is NewConfig with the password key derived by kdf.
func NewConfigKDF(ctx context.Context, kdf KDF, rnd io.Reader, passphrase []byte, iterations, shards int) (*Config, *Keys, error) {
	c, keys, err := newConfig(rnd, shards)
	if err != nil {
		return nil, nil, err
	}
	if err := c.wrapKDF(ctx, kdf, rnd, keys, passphrase, iterations); err != nil {
		return nil, nil, err
	}
	return c, keys, nil
}

// RewrapKDF is Rewrap with the password key derived by kdf.
func (c *Config) RewrapKDF(ctx context.Context, kdf KDF, rnd io.Reader, keys *Keys, newPassphrase []byte, iterations int) (*Config, error) {
	n := c.rewrapCopy()
	if iterations == 0 {
		iterations = c.iterations
	}
	if err := n.wrapKDF(ctx, kdf, rnd, keys, newPassphrase, iterations); err != nil {
		return nil, err
	}
	return n, nil
}
