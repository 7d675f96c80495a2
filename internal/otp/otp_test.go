package otp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// RFC 4226 Appendix D: secret "12345678901234567890", HMAC-SHA-1, 6 digits.
func TestHOTPRFC4226(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489"}
	secret := []byte("12345678901234567890")
	for c, w := range want {
		got, err := HOTP(SHA1, secret, uint64(c), 6)
		if err != nil || got != w {
			t.Errorf("HOTP(count %d) = %q, %v; want %q", c, got, err, w)
		}
	}
	// Table 2's truncated decimal values, as 10-digit codes.
	truncated := []string{"1284755224", "1094287082", "0137359152", "1726969429", "1640338314",
		"0868254676", "1918287922", "0082162583", "0673399871", "0645520489"}
	for c, w := range truncated {
		if got, _ := HOTP(SHA1, secret, uint64(c), 10); got != w {
			t.Errorf("HOTP(count %d, 10 digits) = %q, want %q", c, got, w)
		}
	}
}

// RFC 6238 Appendix B: 8 digits, period 30, T0 = 0, with the 20-, 32- and
// 64-byte ASCII seeds for SHA1, SHA256 and SHA512.
func TestTOTPRFC6238(t *testing.T) {
	seeds := map[Algorithm]string{
		SHA1:   "12345678901234567890",
		SHA256: "12345678901234567890123456789012",
		SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix    int64
		counter uint64
		codes   map[Algorithm]string
	}{
		{59, 0x1, map[Algorithm]string{SHA1: "94287082", SHA256: "46119246", SHA512: "90693936"}},
		{1111111109, 0x23523EC, map[Algorithm]string{SHA1: "07081804", SHA256: "68084774", SHA512: "25091201"}},
		{1111111111, 0x23523ED, map[Algorithm]string{SHA1: "14050471", SHA256: "67062674", SHA512: "99943326"}},
		{1234567890, 0x273EF07, map[Algorithm]string{SHA1: "89005924", SHA256: "91819424", SHA512: "93441116"}},
		{2000000000, 0x3F940AA, map[Algorithm]string{SHA1: "69279037", SHA256: "90698825", SHA512: "38618901"}},
		{20000000000, 0x27BC86AA, map[Algorithm]string{SHA1: "65353130", SHA256: "77737706", SHA512: "47863826"}},
	}
	for _, v := range vectors {
		at := time.Unix(v.unix, 0)
		if c, err := Counter(at, 30); err != nil || c != v.counter {
			t.Errorf("Counter(%d) = %#x, %v; want %#x", v.unix, c, err, v.counter)
		}
		for alg, want := range v.codes {
			got, err := TOTP(alg, []byte(seeds[alg]), at, 30, 8)
			if err != nil || got != want {
				t.Errorf("TOTP(%s, %d) = %q, %v; want %q", alg, v.unix, got, err, want)
			}
			// The same through a Key, as the command line uses it.
			k := Key{Secret: EncodeSecret([]byte(seeds[alg])), Algorithm: alg, Digits: 8, Period: 30}
			if got, err := k.Code(at); err != nil || got != want {
				t.Errorf("Key.Code(%s, %d) = %q, %v; want %q", alg, v.unix, got, err, want)
			}
		}
	}
}

func TestRemaining(t *testing.T) {
	k := Key{Period: 30}
	for unix, want := range map[int64]int{0: 30, 1: 29, 29: 1, 30: 30, 59: 1, 1111111109: 1} {
		if got := k.Remaining(time.Unix(unix, 0)); got != want {
			t.Errorf("Remaining(%d) = %d, want %d", unix, got, want)
		}
	}
	// Sub-second times count in whole seconds of the period.
	if got := k.Remaining(time.Unix(29, 999_000_000)); got != 1 {
		t.Errorf("Remaining(29.999) = %d", got)
	}
}

func TestBadParameters(t *testing.T) {
	s := []byte("12345678901234567890")
	if _, err := HOTP("MD5", s, 0, 6); err == nil || !strings.Contains(err.Error(), "unsupported algorithm") {
		t.Errorf("MD5: %v", err)
	}
	for _, d := range []int{0, 5, 11} {
		if _, err := HOTP(SHA1, s, 0, d); err == nil || !strings.Contains(err.Error(), "digits") {
			t.Errorf("%d digits: %v", d, err)
		}
	}
	for _, p := range []int{0, -30, MaxPeriod + 1} {
		if _, err := TOTP(SHA1, s, time.Unix(59, 0), p, 6); err == nil || !strings.Contains(err.Error(), "period") {
			t.Errorf("period %d: %v", p, err)
		}
	}
	if _, err := TOTP(SHA1, s, time.Unix(-1, 0), 30, 6); err == nil || !strings.Contains(err.Error(), "1970") {
		t.Errorf("before 1970: %v", err)
	}
	if err := (Key{Secret: "jbswy3dpehpk3pxp", Algorithm: SHA1, Digits: 6, Period: 30}).Validate(); err == nil {
		t.Error("a non-canonical secret in a Key is valid")
	}
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"SHA1": SHA1, "sha1": SHA1, "SHA-256": SHA256, "sha512": SHA512} {
		if got, err := ParseAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "MD5", "SHA384", "SHA3-256"} {
		if _, err := ParseAlgorithm(in); err == nil {
			t.Errorf("ParseAlgorithm(%q) succeeded", in)
		}
	}
}

func TestNormalizeSecret(t *testing.T) {
	for in, want := range map[string]string{
		"JBSWY3DPEHPK3PXP":                 "JBSWY3DPEHPK3PXP",
		"jbswy3dpehpk3pxp":                 "JBSWY3DPEHPK3PXP",
		"jbsw y3dp ehpk 3pxp":              "JBSWY3DPEHPK3PXP", // as apps show it
		" JBSW-Y3DP-EHPK-3PXP\n":           "JBSWY3DPEHPK3PXP",
		"GEZDGNBV":                         "GEZDGNBV",
		"MFRGG":                            "MFRGG", // 3 bytes, padding missing
		"MFRGG===":                         "MFRGG", // ... or present
		"mfrgg=":                           "MFRGG", // ... or partial
		"HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ": "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ",
	} {
		got, err := NormalizeSecret(in)
		if err != nil || got != want {
			t.Errorf("NormalizeSecret(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"":                  "empty",
		"   ":               "empty",
		"====":              "empty",
		"JBSWY3DPEHPK3PX1":  "byte 16 is not",
		"JBSWY3DPEHPK3PX8":  "byte 16 is not",
		"JBSW.Y3DP":         "byte 5 is not",
		"JBSWY3DPÉHPK3PXP":  "byte 9 is not",
		"JBSW=Y3DP":         "padding in the middle",
		"A":                 "1 characters",
		"ABC":               "3 characters",
		"ABCDEF":            "6 characters",
		"JBSWY3DPEHPK3PXPA": "17 characters",
	} {
		_, err := NormalizeSecret(in)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("NormalizeSecret(%q) = %v, want an error with %q", in, err, msg)
			continue
		}
		if len(in) > 4 && strings.Contains(err.Error(), strings.TrimSpace(in)) {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
}

func TestNewKey(t *testing.T) {
	k, err := NewKey("jbsw y3dp ehpk 3pxp")
	if err != nil {
		t.Fatal(err)
	}
	want := Key{Secret: "JBSWY3DPEHPK3PXP", Algorithm: SHA1, Digits: 6, Period: 30}
	if k != want {
		t.Errorf("NewKey = %+v", k)
	}
	// The well-known JBSWY3DPEHPK3PXP ("Hello!\xde\xad\xbe\xef") at a fixed
	// time; the value was computed separately with Python's hmac module.
	if c, err := k.Code(time.Unix(1700000000, 0)); err != nil || c != "324550" {
		t.Errorf("Code = %q, %v", c, err)
	}
	if _, err := NewKey("not base32!"); err == nil {
		t.Error("NewKey accepted a bad secret")
	}
}

func TestParseURI(t *testing.T) {
	base := Key{Secret: "JBSWY3DPEHPK3PXP", Algorithm: SHA1, Digits: 6, Period: 30}
	with := func(f func(*Key)) Key { k := base; f(&k); return k }
	for _, tc := range []struct {
		uri  string
		want Key
	}{
		// GitHub's and Google's examples: issuer in the label and as a parameter.
		{"otpauth://totp/GitHub:octocat?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
			with(func(k *Key) { k.Issuer, k.Account = "GitHub", "octocat" })},
		{"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			with(func(k *Key) { k.Issuer, k.Account = "Example", "alice@google.com" })},
		// Issuer only in the label.
		{"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP",
			with(func(k *Key) { k.Issuer, k.Account = "Example", "alice@google.com" })},
		// No issuer at all.
		{"otpauth://totp/alice@google.com?secret=JBSWY3DPEHPK3PXP",
			with(func(k *Key) { k.Account = "alice@google.com" })},
		// Issuer only as a parameter.
		{"otpauth://totp/alice?issuer=ACME&secret=JBSWY3DPEHPK3PXP",
			with(func(k *Key) { k.Issuer, k.Account = "ACME", "alice" })},
		// Percent-encoding: %3A as the separator, %20 and + for spaces,
		// a space after the colon, an escaped @.
		{"otpauth://totp/ACME%20Co%3A%20john.doe%40email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Co&algorithm=SHA1&digits=6&period=30",
			with(func(k *Key) { k.Issuer, k.Account = "ACME Co", "john.doe@email.com" })},
		// The parameter wins over a different label prefix.
		{"otpauth://totp/Old%20Name:bob?secret=JBSWY3DPEHPK3PXP&issuer=New%20Name",
			with(func(k *Key) { k.Issuer, k.Account = "New Name", "bob" })},
		// An issuer with a colon.
		{"otpauth://totp/a%3Ab:carol?secret=JBSWY3DPEHPK3PXP&issuer=a%3Ab",
			with(func(k *Key) { k.Issuer, k.Account = "a:b", "carol" })},
		// Lower-case base32 with spaces (encoded), and missing padding.
		{"otpauth://totp/x?secret=jbsw%20y3dp%20ehpk%203pxp",
			with(func(k *Key) { k.Account = "x" })},
		{"otpauth://totp/x?secret=mfrgg",
			with(func(k *Key) { k.Account, k.Secret = "x", "MFRGG" })},
		// Every parameter, upper-case scheme and type, unknown parameters,
		// parameter names in another case, a fragment.
		{"OTPAUTH://TOTP/Big:dave?SECRET=JBSWY3DPEHPK3PXP&Algorithm=sha512&digits=8&period=60&image=https%3A%2F%2Fx.example%2Fa.png#frag",
			with(func(k *Key) {
				k.Issuer, k.Account, k.Algorithm, k.Digits, k.Period = "Big", "dave", SHA512, 8, 60
			})},
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256",
			with(func(k *Key) { k.Account, k.Algorithm = "x", SHA256 })},
		// No label.
		{"otpauth://totp/?secret=JBSWY3DPEHPK3PXP", base},
		{"otpauth://totp?secret=JBSWY3DPEHPK3PXP", base},
		// Unicode.
		{"otpauth://totp/%C3%89cole:%F0%9F%94%91?secret=JBSWY3DPEHPK3PXP",
			with(func(k *Key) { k.Issuer, k.Account = "École", "🔑" })},
		// Surrounding white space, as pasted.
		{"  otpauth://totp/x?secret=JBSWY3DPEHPK3PXP\n", with(func(k *Key) { k.Account = "x" })},
	} {
		got, err := ParseURI(tc.uri)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tc.uri, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseURI(%q) = %+v, want %+v", tc.uri, got, tc.want)
		}
		if !IsURI(tc.uri) {
			t.Errorf("IsURI(%q) = false", tc.uri)
		}
		// Formatting gives the same key back.
		again, err := ParseURI(got.URI())
		if err != nil || again != got {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", got.URI(), again, err, got)
		}
	}
}

func TestURIFormat(t *testing.T) {
	k := Key{Issuer: "ACME Co", Account: "john.doe@email.com", Secret: "JBSWY3DPEHPK3PXP",
		Algorithm: SHA256, Digits: 8, Period: 60}
	want := "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60"
	if got := k.URI(); got != want {
		t.Errorf("URI = %s\nwant  %s", got, want)
	}
	k = Key{Account: "a:b", Secret: "JBSWY3DPEHPK3PXP", Algorithm: SHA1, Digits: 6, Period: 30}
	if got, err := ParseURI(k.URI()); err != nil || got != k {
		t.Errorf("%s: %+v, %v", k.URI(), got, err)
	}
}

func TestParseURIErrors(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXP"
	for uri, msg := range map[string]string{
		"":                                 "not an otpauth:// URI",
		"https://example.com/?secret=x":    "not an otpauth:// URI",
		"otpauth:/totp/x?secret=" + secret: "not an otpauth:// URI",
		"otpauth://hotp/x?secret=" + secret + "&counter=1":         "HOTP (counter-based) keys are not supported",
		"otpauth://HOTP/x?secret=" + secret:                        "not supported",
		"otpauth://steam/x?secret=" + secret:                       "unsupported OTP type",
		"otpauth://" + secret:                                      "unsupported OTP type",
		"otpauth:///x?secret=" + secret:                            "no type",
		"otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8":     "otpauth-migration",
		"otpauth://totp/x":                                         "no secret",
		"otpauth://totp/x?issuer=a":                                "no secret",
		"otpauth://totp/x?secret=":                                 "no secret",
		"otpauth://totp/x?secret=" + secret + "&secret=" + secret:  "more than once",
		"otpauth://totp/x?secret=" + secret + "&Secret=" + secret:  "more than once",
		"otpauth://totp/x?secret=" + secret + "&digits=6&digits=8": "more than once",
		"otpauth://totp/x?secret=JBSWY3DPEHPK3PX1":                 "not valid base32",
		"otpauth://totp/x?secret=JBSWY3DPEHPK3PXPA":                "17 characters",
		"otpauth://totp/x?secret=" + secret + "&algorithm=MD5":     "unsupported algorithm",
		"otpauth://totp/x?secret=" + secret + "&digits=5":          "digits 5",
		"otpauth://totp/x?secret=" + secret + "&digits=11":         "digits 11",
		"otpauth://totp/x?secret=" + secret + "&digits=six":        "not a number",
		"otpauth://totp/x?secret=" + secret + "&period=0":          "period 0",
		"otpauth://totp/x?secret=" + secret + "&period=-30":        "period -30",
		"otpauth://totp/x?secret=" + secret + "&period=1e3":        "not a number",
		"otpauth://totp/x%ZZ?secret=" + secret:                     "invalid percent-encoding",
		"otpauth://totp/x?secret=" + secret + "%ZZ":                "malformed",
		"otpauth://totp/x?secret=" + secret + ";issuer=a":          "malformed",
		"otpauth://totp/x%FF?secret=" + secret:                     "not UTF-8",
		"otpauth://totp/x%0A?secret=" + secret:                     "control character",
		"otpauth://totp/x?secret=" + secret + "&issuer=%07":        "control character",
	} {
		_, err := ParseURI(uri)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseURI(%q) = %v, want an error with %q", uri, err, msg)
			continue
		}
		if strings.Contains(err.Error(), secret[:8]) || strings.Contains(err.Error(), "PXP") {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
	if _, err := ParseURI("otpauth://hotp/x?secret=" + secret); !errors.Is(err, ErrHOTP) {
		t.Errorf("hotp: %v does not match ErrHOTP", err)
	}
	if _, err := ParseURI("otpauth://steam/x?secret=" + secret); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("steam: %v does not match ErrUnsupportedType", err)
	}
}

func TestIsURI(t *testing.T) {
	for s, want := range map[string]bool{
		"otpauth://totp/x?secret=A": true,
		" OTPAUTH://totp/x":         true,
		"otpauth-migration://x":     true,
		"otpauth:":                  true,
		"JBSWY3DPEHPK3PXP":          false,
		"otpauth":                   false,
		"":                          false,
	} {
		if got := IsURI(s); got != want {
			t.Errorf("IsURI(%q) = %v", s, got)
		}
	}
}

func TestParseDocument(t *testing.T) {
	t.Parallel()
	k, err := ParseDocument([]byte(`{"type":"totp","secret":"JBSWY3DPEHPK3PXP","digits":8}`))
	if err != nil || k.Digits != 8 || k.Period != 30 || k.Algorithm != SHA1 {
		t.Fatalf("ParseDocument = %+v, %v", k, err)
	}
	for _, v := range []string{`"totp"`, `{"type":"note","secret":"JBSWY3DPEHPK3PXP"}`, `{"totp":"JBSWY3DPEHPK3PXP"}`, `[1]`} {
		if _, err := ParseDocument([]byte(v)); !errors.Is(err, ErrNotDocument) {
			t.Errorf("ParseDocument(%s): %v, want ErrNotDocument", v, err)
		}
	}
	_, err = ParseDocument([]byte(`{"type":"totp","secret":"JBSWY3DPEHPK3PXP","digits":"8"}`))
	if err == nil || err.Error() != `its field "digits" is string, which is the wrong type` {
		t.Errorf("a field of the wrong type: %v", err)
	}
	// Any entry with a field "totp"; the last of a repeated key counts.
	k, err = FromDocument([]byte(`{"totp":"AAAA","totp":"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=7"}`))
	if err != nil || k.Digits != 7 {
		t.Errorf("FromDocument(field totp) = %+v, %v", k, err)
	}
	if _, err := FromDocument([]byte(`{"TOTP":"JBSWY3DPEHPK3PXP"}`)); !errors.Is(err, ErrNotDocument) {
		t.Errorf("FromDocument matched the field name without case: %v", err)
	}
}
