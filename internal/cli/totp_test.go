package cli

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The codes below were computed separately (Python's hmac module) for the
// secret JBSWY3DPEHPK3PXP at the test clock, 2025-01-02T03:04:05Z (Unix
// 1735787045, 25 s before the end of its 30 s period).
const (
	totpSecret  = "JBSWY3DPEHPK3PXP"
	totpURI     = "otpauth://totp/GitHub:octocat?secret=" + totpSecret + "&issuer=GitHub"
	codeNow     = "348336" // SHA1, 6 digits, 30 s, at the test clock
	codeAt1111  = "071271" // ... at Unix 1111111109
	code256Now  = "32804489"
	leftNow     = "25"
	left256Now  = "55" // 60 s period
	secretShard = "JBSWY3DP"
)

func (e *env) initShards(n string) {
	e.t.Helper()
	e.must("", "init", "--iterations", "1000", "--shards", n)
}

// noSecret fails if r shows the secret anywhere but where wanted.
func noSecret(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.errOut, secretShard) || strings.Contains(strings.ToUpper(r.errOut), secretShard) {
		t.Errorf("stderr shows the secret: %q", r.errOut)
	}
}

func TestTotpAddAndCodePipe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	r := e.run(false, totpURI+"\n", "totp", "add", "github/totp")
	expect(t, r, 0, "", "")
	if r.errOut != "" {
		t.Errorf("add in a pipe printed %q", r.errOut)
	}
	// The stored document has the reference shape, plus issuer and account.
	var got map[string]any
	json.Unmarshal([]byte(e.must("", "get", "--json", "github/totp")), &got)
	want := map[string]any{"type": "totp", "secret": totpSecret, "digits": 6.0, "period": 30.0,
		"algorithm": "SHA1", "issuer": "GitHub", "account": "octocat"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	// In a pipe, only the code.
	expect(t, e.run(false, "", "totp", "github/totp"), 0, codeNow+"\n", "")
	r = e.run(false, "", "totp", "/github/totp")
	if r.errOut != "" {
		t.Errorf("stderr in a pipe: %q", r.errOut)
	}
	// --time, as Unix seconds and as RFC 3339.
	expect(t, e.run(false, "", "totp", "github/totp", "--time", "1111111109"), 0, codeAt1111+"\n", "")
	expect(t, e.run(false, "", "totp", "--time", "2005-03-18T01:58:29Z", "github/totp"), 0, codeAt1111+"\n", "")
	expect(t, e.run(false, "", "totp", "--time", "2005-03-18T02:58:29+01:00", "github/totp"), 0, codeAt1111+"\n", "")
	expect(t, e.run(false, "", "totp", "github/totp", "--time", "2025-01-02T03:04:05Z"), 0, codeNow+"\n", "")
	expect(t, e.run(false, "", "totp", "github/totp", "--time", "yesterday"), ExitUsage, "", "RFC 3339")
	expect(t, e.run(false, "", "totp", "github/totp", "--time", "-1"), ExitUsage, "", "before 1970")
	expect(t, e.run(false, "", "totp", "github/totp", "--time", "1969-12-31T23:59:59Z"), ExitUsage, "", "before 1970")

	// A bare secret, lower case with spaces and no padding, as apps show it.
	e.must("jbsw y3dp ehpk 3pxp\n", "totp", "add", "work/aws")
	expect(t, e.run(false, "", "totp", "work/aws"), 0, codeNow+"\n", "")
	got = nil
	json.Unmarshal([]byte(e.must("", "get", "--json", "work/aws")), &got)
	want = map[string]any{"type": "totp", "secret": totpSecret, "digits": 6.0, "period": 30.0, "algorithm": "SHA1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	// Replacing in a pipe does not ask.
	e.must("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8&period=60", "totp", "add", "work/aws")
	expect(t, e.run(false, "", "totp", "work/aws"), 0, code256Now+"\n", "")
}

func TestTotpTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	// The secret is asked without echo, once.
	e.prompter.secrets = []string{totpURI}
	r := e.run(true, "", "totp", "add", "github/totp")
	expect(t, r, 0, "", "Stored a TOTP secret for GitHub (octocat) at /github/totp (SHA1, 6 digits, every 30s)")
	noSecret(t, r)
	if len(e.prompter.prompts) != 1 || !strings.Contains(e.prompter.prompts[0], "otpauth:// URI or base32 secret for /github/totp") {
		t.Errorf("prompts %q", e.prompter.prompts)
	}
	// The code on stdout, the seconds left on stderr.
	r = e.run(true, "", "totp", "github/totp")
	expect(t, r, 0, codeNow+"\n", leftNow+"s left")
	// Replacing is confirmed; no keeps the old secret.
	e.prompter.prompts = nil
	e.prompter.answers = []bool{false}
	r = e.run(true, "", "totp", "add", "github/totp")
	expect(t, r, ExitError, "", "not confirmed")
	if len(e.prompter.prompts) != 1 || !strings.Contains(e.prompter.prompts[0], "already a TOTP entry") {
		t.Errorf("prompts %q", e.prompter.prompts)
	}
	e.prompter.secrets = []string{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8&period=60"}
	expect(t, e.run(true, "", "totp", "add", "-f", "github/totp"), 0, "", "SHA256, 8 digits, every 60s")
	expect(t, e.run(true, "", "totp", "github/totp"), 0, code256Now+"\n", left256Now+"s left")
	// No terminal to ask on.
	e.prompter.noTTY = true
	expect(t, e.run(true, "", "totp", "add", "-f", "x"), ExitUsage, "", "pipe it on stdin")
}

func TestTotpClip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must(totpURI, "totp", "add", "github/totp")
	r := e.run(false, "", "totp", "-c", "github/totp")
	expect(t, r, 0, "", "Copied the code of /github/totp to the clipboard. It will be cleared in 45s.")
	if e.clip.text != codeNow {
		t.Errorf("clipboard %q", e.clip.text)
	}
	if len(e.schedules) != 1 || e.schedules[0].d != defaultClipTimeout || e.schedules[0].sum != sha256.Sum256([]byte(codeNow)) {
		t.Errorf("schedules %v", e.schedules)
	}
	// On a terminal it also says when the code changes.
	r = e.run(true, "", "totp", "--clip", "--clip-timeout", "10s", "--time", "1111111109", "github/totp")
	expect(t, r, 0, "", "cleared in 10s")
	if !strings.Contains(r.errOut, "The code changes in 1s.") || e.clip.text != codeAt1111 {
		t.Errorf("stderr %q, clipboard %q", r.errOut, e.clip.text)
	}
	if len(e.schedules) != 2 || e.schedules[1].d != 10e9 {
		t.Errorf("schedules %v", e.schedules)
	}
	expect(t, e.run(false, "", "totp", "--clip-timeout", "2s", "github/totp"), ExitUsage, "", "needs --clip")
	expect(t, e.run(false, "", "totp", "-c", "github/"), ExitUsage, "", "is a directory")
	expect(t, e.run(false, "", "totp", "-c"), ExitUsage, "", "is a directory")
}

func TestTotpBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	for _, tc := range []struct{ in, msg string }{
		{"otpauth://hotp/GitHub:octocat?secret=JBSWY3DPEHPK3PXP&counter=0", "HOTP (counter-based) keys are not supported"},
		{"otpauth://steam/x?secret=JBSWY3DPEHPK3PXP", "unsupported OTP type"},
		{"otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8", "otpauth-migration"},
		{"otpauth://totp/x?issuer=a", "no secret"},
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PX1", "not valid base32"},
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=5", "digits 5"},
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0", "period 0"},
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "unsupported algorithm"},
		{"otpauth://totp/x%ZZ?secret=JBSWY3DPEHPK3PXP", "percent-encoding"},
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP\notpauth://totp/y?secret=JBSWY3DPEHPK3PXP", "several lines"},
		{"JBSWY3DPEHPK3PX!", "not valid base32"},
		{"JBSWY3DPEHPK3PXPA", "17 characters"},
		{"", "no otpauth:// URI or secret"},
		{"  \n", "no otpauth:// URI or secret"},
	} {
		r := e.run(false, tc.in, "totp", "add", "x")
		expect(t, r, ExitError, "", tc.msg)
		if !strings.Contains(r.errOut, "nothing was changed") {
			t.Errorf("%q: %q", tc.in, r.errOut)
		}
		noSecret(t, r)
	}
	expect(t, e.run(false, "", "get", "x"), ExitNotFound, "", "no such entry")

	// The secret is never taken from the command line, nor echoed.
	for _, a := range [][]string{
		{"totp", "add", "x", totpURI},
		{"totp", "add", "x", totpSecret},
		{"totp", "add", totpURI},
		{"totp", totpURI},
		{"totp", "uri", totpURI},
	} {
		r := e.run(false, "", a...)
		expect(t, r, ExitUsage, "", "never accepted as an argument")
		noSecret(t, r)
	}
	expect(t, e.run(false, "", "totp", "add"), ExitUsage, "", "PATH")
	expect(t, e.run(false, totpURI, "totp", "add", "dir/"), ExitUsage, "", "is a directory")
	expect(t, e.run(false, "", "totp", "a", "b"), ExitUsage, "", "at most 1 arg")
}

func TestTotpDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	for _, tc := range []struct {
		doc, out, msg string
		code          int
	}{
		// The reference implementation's shape, and with the defaults left out.
		{`{"type":"totp","secret":"JBSWY3DPEHPK3PXP","digits":6,"period":30,"algorithm":"SHA1"}`, codeNow + "\n", "", 0},
		{`{"type":"totp","secret":"JBSWY3DPEHPK3PXP"}`, codeNow + "\n", "", 0},
		{`{"secret":"jbsw y3dp ehpk 3pxp","type":"totp","algorithm":"sha256","digits":8,"period":60}`, code256Now + "\n", "", 0},
		// Not TOTP entries.
		{`"JBSWY3DPEHPK3PXP"`, "", "not a TOTP entry", ExitError},
		{`{"secret":"JBSWY3DPEHPK3PXP"}`, "", "not a TOTP entry", ExitError},
		{`{"type":"hotp","secret":"JBSWY3DPEHPK3PXP"}`, "", "not a TOTP entry", ExitError},
		{`[1,2]`, "", "not a TOTP entry", ExitError},
		// Damaged ones.
		{`{"type":"totp"}`, "", "damaged TOTP entry: it has no secret", ExitError},
		{`{"type":"totp","secret":"JBSWY3DPEHPK3PX!"}`, "", "not valid base32", ExitError},
		{`{"type":"totp","secret":"JBSWY3DPEHPK3PXP","digits":"6"}`, "", "wrong type", ExitError},
		{`{"type":"totp","secret":"JBSWY3DPEHPK3PXP","digits":4}`, "", "digits 4", ExitError},
		{`{"type":"totp","secret":"JBSWY3DPEHPK3PXP","period":0}`, "", "period 0", ExitError},
		{`{"type":"totp","secret":"JBSWY3DPEHPK3PXP","algorithm":"MD5"}`, "", "unsupported algorithm", ExitError},
		{`{"type":"totp","secret":12}`, "", "wrong type", ExitError},
	} {
		e.must(tc.doc, "set", "--json", "doc")
		r := e.run(false, "", "totp", "doc")
		expect(t, r, tc.code, tc.out, tc.msg)
		noSecret(t, r)
	}
	expect(t, e.run(false, "", "totp", "nope"), ExitNotFound, "", "no such entry")
	expect(t, e.run(false, "", "totp", "uri", "nope"), ExitNotFound, "", "no such entry")
	expect(t, e.run(false, "", "totp", "uri", "doc"), ExitError, "", "damaged")
	// An entry named like a subcommand.
	e.must(totpURI, "totp", "add", "/uri")
	expect(t, e.run(false, "", "totp", "/uri"), 0, codeNow+"\n", "")
}

func TestTotpURI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("otpauth://totp/ACME%20Co:john.doe@email.com?secret=jbswy3dpehpk3pxp&issuer=ACME+Co&digits=8", "totp", "add", "acme")
	want := "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=8&period=30\n"
	r := e.run(false, "", "totp", "uri", "acme")
	expect(t, r, 0, want, "")
	// The URI moves the secret: adding it elsewhere gives the same entry.
	e.must(r.out, "totp", "add", "copy")
	if a, b := e.must("", "get", "--json", "acme"), e.must("", "get", "--json", "copy"); a != b {
		t.Errorf("copy %s, original %s", b, a)
	}
	// Without an account, the entry's path names it.
	e.must(totpSecret, "totp", "add", "work/aws")
	expect(t, e.run(false, "", "totp", "uri", "work/aws"), 0,
		"otpauth://totp/work%2Faws?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30\n", "")
	// Nothing else prints the secret.
	for _, a := range [][]string{{"totp", "acme"}, {"totp"}, {"--trace", "totp"}, {"--trace", "totp", "acme"}} {
		if r := e.run(true, "", a...); strings.Contains(r.out+r.errOut, secretShard) {
			t.Errorf("%q shows the secret: %q %q", a, r.out, r.errOut)
		}
	}
	e.must("x", "set", "plain")
	expect(t, e.run(false, "", "totp", "uri", "plain"), ExitError, "", "not a TOTP entry")
}

// traceReads counts the shard reads in --trace output.
func traceReads(t *testing.T, errOut string) map[string]int {
	t.Helper()
	reads := map[string]int{}
	for _, line := range strings.Split(errOut, "\n") {
		f := strings.Fields(strings.TrimPrefix(line, "trace: "))
		if strings.HasPrefix(line, "trace: ") && len(f) >= 2 && f[0] == "read" && strings.HasPrefix(f[1], "shard-") {
			reads[f[1]]++
		}
	}
	return reads
}

func TestTotpDirectory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.initShards("4")
	e.must(totpURI, "totp", "add", "github/totp")
	e.must(totpSecret, "totp", "add", "work/aws/totp")
	e.must("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8&period=60", "totp", "add", "work/vpn")
	e.must(totpSecret, "totp", "add", "mail")
	e.must("not a totp entry", "set", "work/password")
	e.must(`{"user":"me"}`, "set", "--json", "work/db")

	all := "/github/totp\t" + codeNow + "\t" + leftNow + "\n" +
		"/mail\t" + codeNow + "\t" + leftNow + "\n" +
		"/work/aws/totp\t" + codeNow + "\t" + leftNow + "\n" +
		"/work/vpn\t" + code256Now + "\t" + left256Now + "\n"
	expect(t, e.run(false, "", "totp"), 0, all, "")
	expect(t, e.run(false, "", "totp", "/"), 0, all, "")
	work := "/work/aws/totp\t" + codeNow + "\t" + leftNow + "\n" + "/work/vpn\t" + code256Now + "\t" + left256Now + "\n"
	expect(t, e.run(false, "", "totp", "work/"), 0, work, "")
	expect(t, e.run(false, "", "totp", "work"), 0, work, "") // a directory named without its "/"
	expect(t, e.run(false, "", "totp", "--time", "1111111109", "github/"), 0, "/github/totp\t"+codeAt1111+"\t1\n", "")
	expect(t, e.run(false, "", "totp", "nosuch/"), ExitNotFound, "", "no such directory")

	// On a terminal, an aligned table.
	r := e.run(true, "", "totp")
	wantTTY := "/github/totp    " + codeNow + "    " + leftNow + "s\n" +
		"/mail           " + codeNow + "    " + leftNow + "s\n" +
		"/work/aws/totp  " + codeNow + "    " + leftNow + "s\n" +
		"/work/vpn       " + code256Now + "  " + left256Now + "s\n"
	expect(t, r, 0, wantTTY, "")

	// One task: each shard is read at most once, and no secret is traced.
	r = e.run(false, "", "--trace", "totp")
	expect(t, r, 0, all, "trace: summary:")
	reads := traceReads(t, r.errOut)
	if len(reads) == 0 {
		t.Fatalf("no shard reads traced: %q", r.errOut)
	}
	for blob, n := range reads {
		if n > 1 {
			t.Errorf("%s read %d times", blob, n)
		}
	}
	noSecret(t, r)

	// No TOTP entries: nothing in a pipe, a note on a terminal.
	e.must("x", "set", "plain/a")
	expect(t, e.run(false, "", "totp", "plain/"), 0, "", "")
	expect(t, e.run(true, "", "totp", "plain/"), 0, "", "No TOTP entries in /plain/")

	// A damaged TOTP entry is reported; the others still print.
	e.must(`{"type":"totp","secret":"!!"}`, "set", "--json", "work/broken")
	r = e.run(false, "", "totp", "work/")
	if r.code != ExitError || r.out != work || !strings.Contains(r.errOut, "/work/broken is a damaged TOTP entry") ||
		!strings.Contains(r.errOut, "1 damaged TOTP entry below /work/") {
		t.Errorf("damaged entry: %+v", r)
	}
}
