package otp

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseURI checks that the otpauth:// parser never panics, that what
// it accepts is a valid key that formats back to the same key, and that
// its errors never quote the secret parameter.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"otpauth://totp/GitHub:octocat?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
		"otpauth://totp/ACME%20Co%3A%20john.doe%40email.com?secret=jbsw%20y3dp&issuer=ACME+Co&algorithm=SHA256&digits=8&period=60",
		"otpauth://totp/a%3Ab:carol?secret=MFRGG===&issuer=a%3Ab",
		"otpauth://totp/:a:b?secret=GEZDGNBV",
		"otpauth://totp?secret=GEZDGNBV#x",
		"OTPAUTH://TOTP/%C3%89cole:%F0%9F%94%91?SECRET=GEZDGNBV&Algorithm=sha-512",
		"otpauth://hotp/x?secret=GEZDGNBV&counter=3",
		"otpauth://totp/x?secret=GEZDGNBV&digits=11&period=0",
		"otpauth://totp/x%ZZ?secret=A;b",
		"otpauth-migration://offline?data=AAAA",
		"otpauth://totp/%20i%20:a?secret=GEZDGNBV&issuer=%20i%20",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseURI(s)
		if err != nil {
			if _, q, ok := strings.Cut(s, "secret="); ok {
				sec, _, _ := strings.Cut(q, "&")
				if len(sec) >= 8 && strings.Contains(err.Error(), sec) {
					// The text may be in the error for another reason (a
					// fixed message such as "otpauth:"): it is a leak only
					// if it goes away when the secret is replaced.
					filler := strings.Repeat("Q", len(sec))
					if sec == filler {
						filler = strings.Repeat("R", len(sec))
					}
					_, err2 := ParseURI(strings.Replace(s, "secret="+sec, "secret="+filler, 1))
					if err2 == nil || !strings.Contains(err2.Error(), sec) {
						t.Fatalf("the error %q quotes the secret", err)
					}
				}
			}
			return
		}
		if err := k.Validate(); err != nil {
			t.Fatalf("ParseURI(%q) = %+v, which is not valid: %v", s, k, err)
		}
		again, err := ParseURI(k.URI())
		if err != nil {
			t.Fatalf("ParseURI(%q) = %+v, whose URI %q does not parse: %v", s, k, k.URI(), err)
		}
		if again != k {
			t.Fatalf("ParseURI(%q) = %+v, but its URI %q parses as %+v", s, k, k.URI(), again)
		}
		if _, err := k.Code(time.Unix(1234567890, 0)); err != nil {
			t.Fatalf("Code of %+v: %v", k, err)
		}
	})
}

// FuzzNormalizeSecret checks that a normalised secret is canonical: it
// normalises to itself and decodes.
func FuzzNormalizeSecret(f *testing.F) {
	for _, s := range []string{"JBSWY3DPEHPK3PXP", "jbsw y3dp ehpk 3pxp", "MFRGG===", "A", "a=b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeSecret(s)
		if err != nil {
			return
		}
		if again, err := NormalizeSecret(n); err != nil || again != n {
			t.Fatalf("NormalizeSecret(%q) = %q, which normalises to %q, %v", s, n, again, err)
		}
		if b, err := decodeSecret(n); err != nil || len(b) == 0 {
			t.Fatalf("NormalizeSecret(%q) = %q, which does not decode: %v", s, n, err)
		}
	})
}
