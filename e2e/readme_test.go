package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlock is a fenced sh block of README.md.
type readmeBlock struct {
	line   int      // of the opening fence
	cmds   []string // one command per line
	notRun string   // why it is not run, from <!-- not run: REASON -->
	stdin  string   // from <!-- stdin: TEXT -->; "example value" otherwise
	setup  []string // from <!-- setup: CMD -->, run first
}

var (
	notRunRE = regexp.MustCompile(`^<!-- not run: (\S.*) -->$`)
	stdinRE  = regexp.MustCompile(`^<!-- stdin: (.*) -->$`)
	setupRE  = regexp.MustCompile(`^<!-- setup: (.*) -->$`)
)

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []readmeBlock
	var cur *readmeBlock
	var pending readmeBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
				cur.cmds = append(cur.cmds, line)
			}
		case strings.HasPrefix(line, "```"):
			b := pending
			switch info := strings.TrimPrefix(line, "```"); info {
			case "sh":
			case "", "bash", "shell", "console":
				t.Errorf("README.md:%d: a fenced block of commands must be marked sh, so that this test runs it", n)
			default: // JSON, text: no commands
				b.notRun = "not commands (" + info + ")"
			}
			b.line = n
			cur = &b
			pending = readmeBlock{}
		case notRunRE.MatchString(line):
			pending.notRun = notRunRE.FindStringSubmatch(line)[1]
		case stdinRE.MatchString(line):
			pending.stdin = strings.ReplaceAll(stdinRE.FindStringSubmatch(line)[1], `\n`, "\n")
		case setupRE.MatchString(line):
			pending.setup = append(pending.setup, setupRE.FindStringSubmatch(line)[1])
		case strings.TrimSpace(line) != "" && (pending.notRun != "" || pending.stdin != "" || pending.setup != nil):
			t.Errorf("README.md:%d: a test comment not followed by a fenced block", n)
			pending = readmeBlock{}
		}
	}
	if cur != nil {
		t.Errorf("README.md:%d: unclosed fence", cur.line)
	}
	return blocks
}

// Every command of the README runs, in order, in a sandbox (a temporary
// HOME, store and X display), and succeeds; a block that cannot run here
// (it builds the project, needs Dropbox, is a synopsis) is marked
// <!-- not run: REASON --> right above it.
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	display := startX(t)
	blocks := readmeBlocks(t)
	home := t.TempDir()
	work := filepath.Join(home, "work")
	os.MkdirAll(work, 0o700)
	env := []string{
		"HOME=" + home,
		"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH"),
		"VAULTDB_STORE=" + filepath.Join(home, "store"),
		"VAULTDB_PASSPHRASE=readme passphrase",
		"DISPLAY=" + display,
		"TOKEN=example-token",
		"URI=otpauth://totp/GitHub:octocat?secret=" + e2eSecret + "&issuer=GitHub",
		"EDITOR=true",
		"XDG_RUNTIME_DIR=" + home,
	}
	runLine := func(b readmeBlock, cmd, stdin string) {
		t.Helper()
		c := exec.Command("bash", "-o", "pipefail", "-c", cmd)
		c.Env, c.Dir = env, work
		c.Stdin = strings.NewReader(stdin)
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("README.md:%d: %s: %v\n%s", b.line, cmd, err, out)
		}
	}
	// The store the examples use, made fast for the test.
	runLine(readmeBlock{}, "vaultdb init --iterations 1000", "")
	ran := 0
	for _, b := range blocks {
		if b.notRun != "" {
			continue
		}
		for _, s := range b.setup {
			runLine(b, s, "")
		}
		stdin := b.stdin
		if stdin == "" {
			stdin = "example value\n"
		}
		for _, cmd := range b.cmds {
			runLine(b, cmd, stdin)
			ran++
		}
	}
	if ran < 30 {
		t.Errorf("only %d README commands ran", ran)
	}
}
