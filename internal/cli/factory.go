package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/adapters/trace"
	"github.com/vaultdb/vaultdb/internal/agent"
	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/location/all"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// Environment variables.
const (
	envStore      = "VAULTDB_STORE"
	envPassphrase = "VAULTDB_PASSPHRASE"
)

// Factory is what every command shares: streams, clock, environment,
// clipboard and the global flags, and the code that opens the store.
// Tests replace any part of it.
type Factory struct {
	IO *term.IOStreams
	// Now is the clock.
	Now func() time.Time
	// LookupEnv reads the environment.
	LookupEnv func(string) (string, bool)
	// Rand is the randomness of generated passwords.
	Rand io.Reader
	// Clipboard is the system clipboard.
	Clipboard term.Clipboard
	// ScheduleClipClear arranges for the clipboard to be cleared after d,
	// but only if it still holds content whose SHA-256 is sum.
	ScheduleClipClear func(sum [32]byte, d time.Duration) error
	// VaultOptions are passed to vault.Open and vault.Create.
	VaultOptions vault.Options
	// Locations are the kinds of store known; nil means all of them.
	Locations *location.Registry

	// Global flags.
	StoreFlag      string
	PassphraseFile string
	Trace          bool
	NoAgent        bool

	// errMu serialises what is printed on ErrOut from several goroutines.
	errMu    sync.Mutex
	recorder *trace.Recorder

	// fsck is set by "vaultdb fsck", which reports what other commands
	// refuse to open (shard files the config does not name).
	fsck bool

	// loc is the store location once it was parsed, for error hints.
	loc *location.Location

	// agentClient is the agent's client once agent() looked for it.
	agentChecked bool
	agentClient  *agent.Client
	// noPrompt makes passphrase fail rather than ask (completion).
	noPrompt bool
	// passphraseOnly makes openStore ask for the passphrase even when the
	// agent holds the keys (passwd).
	passphraseOnly bool
}

func (f *Factory) getenv(k string) string {
	v, _ := f.LookupEnv(k)
	return v
}

func (f *Factory) locations() *location.Registry {
	if f.Locations == nil {
		f.Locations = all.Registry()
	}
	return f.Locations
}

// storeLocation returns where the store lives: --store, else
// $VAULTDB_STORE, else $XDG_DATA_HOME/vaultdb, else
// ~/.local/share/vaultdb. What a location may be is up to the registry
// (a directory, dropbox:/FOLDER, ...).
func (f *Factory) storeLocation() (location.Location, error) {
	loc := f.StoreFlag
	if loc == "" {
		loc = f.getenv(envStore)
	}
	if loc == "" {
		if d := f.getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
			loc = filepath.Join(d, "vaultdb")
		} else if home := f.getenv("HOME"); home != "" {
			loc = filepath.Join(home, ".local", "share", "vaultdb")
		} else {
			return location.Location{}, usageErrorf("cannot tell where the store is: neither HOME nor XDG_DATA_HOME is set; use --store DIR or set %s", envStore)
		}
	}
	l, err := f.locations().Parse(loc)
	if err != nil {
		return location.Location{}, err
	}
	f.loc = &l
	return l, nil
}

// configDir is vaultdb's configuration directory, where sign-ins are kept:
// $XDG_CONFIG_HOME/vaultdb, or ~/.config/vaultdb.
func (f *Factory) configDir() (string, error) {
	if d := f.getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "vaultdb"), nil
	}
	if h := f.getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".config", "vaultdb"), nil
	}
	return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set")
}

// locationEnv is what the location schemes may use of the command line.
func (f *Factory) locationEnv() *location.Env {
	dir, err := f.configDir()
	return &location.Env{
		Getenv:       f.getenv,
		ConfigDir:    dir,
		ConfigDirErr: err,
		ErrOut:       lockedWriter{&f.errMu, f.IO.ErrOut},
		ReadLine:     f.readLine,
	}
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// adapter returns the blob store at loc with retries and, with --trace,
// tracing; the registry composes them.
func (f *Factory) adapter(ctx context.Context, loc location.Location) (adapters.Adapter, error) {
	opts := stack.Options{Retry: &retry.Options{}}
	if f.Trace {
		f.errMu.Lock()
		if f.recorder == nil {
			f.recorder = &trace.Recorder{}
		}
		f.errMu.Unlock()
		opts.Trace = func(e trace.Event) {
			f.errMu.Lock()
			defer f.errMu.Unlock()
			f.recorder.Record(e)
			fmt.Fprintln(f.IO.ErrOut, "trace: "+trace.FormatEvent(e))
		}
	}
	return f.locations().Open(ctx, f.locationEnv(), loc, opts)
}

// hint says what to do about err, a failure of the command, when the
// store's kind knows (such as signing in again).
func (f *Factory) hint(err error) string {
	if h := f.moveHint(err); h != "" {
		return h
	}
	if f.loc == nil {
		return ""
	}
	return f.loc.Hint(err)
}

// traceSummary prints the --trace summary, if any request was traced.
func (f *Factory) traceSummary() {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	if f.recorder == nil {
		return
	}
	fmt.Fprintln(f.IO.ErrOut, "trace: summary: "+f.recorder.Summary().String())
}

// passphrase returns the passphrase: from --passphrase-file, else from
// $VAULTDB_PASSPHRASE, else asked on the terminal (twice if confirm).
// source describes where it came from, for error messages.
func (f *Factory) passphrase(ctx context.Context, prompt string, confirm bool) (pass []byte, source string, err error) {
	if f.PassphraseFile != "" {
		p, err := term.ReadSecretFile(f.PassphraseFile)
		return p, fmt.Sprintf(" (from --passphrase-file %s)", f.PassphraseFile), err
	}
	if v, ok := f.LookupEnv(envPassphrase); ok {
		if v == "" {
			return nil, "", usageErrorf("%s is set but empty", envPassphrase)
		}
		return []byte(v), " (from " + envPassphrase + ")", nil
	}
	if f.noPrompt {
		return nil, "", term.ErrNoTerminal
	}
	pass, err = askSecret(ctx, f.IO.Prompter, prompt, confirm, "passphrase")
	if errors.Is(err, term.ErrNoTerminal) {
		return nil, "", usageErrorf("a passphrase is needed but there is no terminal to ask on: use --passphrase-file FILE or set %s", envPassphrase)
	}
	return pass, "", err
}

// askSecret prompts for a secret (twice if confirm); what names it in
// messages.
func askSecret(ctx context.Context, p term.Prompter, prompt string, confirm bool, what string) ([]byte, error) {
	s, err := p.Secret(ctx, prompt)
	if err != nil {
		return nil, err
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("the %s is empty; nothing was changed", what)
	}
	if confirm {
		again, err := p.Secret(ctx, "Retype "+what+": ")
		if err != nil {
			term.Wipe(s)
			return nil, err
		}
		defer term.Wipe(again)
		if !bytes.Equal(s, again) {
			term.Wipe(s)
			return nil, fmt.Errorf("the two %ss do not match; nothing was changed", what)
		}
	}
	return s, nil
}

// openTask opens the store and starts the one task a command runs in.
func (f *Factory) openTask(ctx context.Context) (*vault.Task, error) {
	s, err := f.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return s.NewTask(ctx), nil
}

// openStore opens the store: it checks that there is one before asking
// for the passphrase, then unlocks it.
func (f *Factory) openStore(ctx context.Context) (*vault.Store, error) {
	loc, err := f.storeLocation()
	if err != nil {
		return nil, err
	}
	a, err := f.adapter(ctx, loc)
	if err != nil {
		return nil, err
	}
	l, err := f.locate(ctx, loc, a)
	if err != nil {
		return nil, err
	}
	return f.unlock(ctx, loc, l)
}

// unlockStore opens the store with the passphrase, never with an agent's
// keys, and returns the passphrase too, for the commands that need it
// again (a key rotation wraps the new keys under it); the caller wipes it.
func (f *Factory) unlockStore(ctx context.Context) (*vault.Store, []byte, error) {
	loc, err := f.storeLocation()
	if err != nil {
		return nil, nil, err
	}
	a, err := f.adapter(ctx, loc)
	if err != nil {
		return nil, nil, err
	}
	l, err := f.locate(ctx, loc, a)
	if err != nil {
		return nil, nil, err
	}
	s, pass, err := f.unlockPassphrase(ctx, loc, l)
	if err == nil && !f.fsck {
		err = refuseStrayShards(ctx, loc, s)
	}
	if err != nil {
		term.Wipe(pass)
		return nil, nil, err
	}
	return s, pass, nil
}

// unlockPassphrase asks for the passphrase and unlocks l with it; the
// caller wipes the passphrase returned.
func (f *Factory) unlockPassphrase(ctx context.Context, loc location.Location, l *vault.Locked) (*vault.Store, []byte, error) {
	pass, source, err := f.passphrase(ctx, "Passphrase for "+loc.String()+": ", false)
	if err != nil {
		return nil, pass, err
	}
	s, err := l.Unlock(ctx, vault.Passphrase(pass))
	if errors.Is(err, vault.ErrWrongPassphrase) {
		return nil, pass, hintf(err, "incorrect passphrase%s for the store at %s; nothing was changed", source, loc)
	}
	if err != nil {
		return nil, pass, fmt.Errorf("cannot open the store at %s: %w", loc, err)
	}
	return s, pass, nil
}

// locate reads the config of the store at loc.
func (f *Factory) locate(ctx context.Context, loc location.Location, a adapters.Adapter) (*vault.Locked, error) {
	l, err := vault.Locate(ctx, a, f.VaultOptions)
	if errors.Is(err, vault.ErrNoStore) {
		return nil, hintf(vault.ErrNoStore, "no store at %s: create one with \"vaultdb init\", or choose another with --store or %s", loc, envStore)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open the store at %s: %w", loc, err)
	}
	return l, nil
}

// unlock unlocks the located store with the keys the agent holds for this
// very config, else with the passphrase (and then hands the keys to the
// agent), and refuses a store with stray shard files (see
// refuseStrayShards).
func (f *Factory) unlock(ctx context.Context, loc location.Location, l *vault.Locked) (*vault.Store, error) {
	s, err := f.unlockKeys(ctx, loc, l)
	if err != nil {
		return nil, err
	}
	if !f.fsck {
		if err := refuseStrayShards(ctx, loc, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// unlockKeys is unlock without the stray-shard check.
func (f *Factory) unlockKeys(ctx context.Context, loc location.Location, l *vault.Locked) (*vault.Store, error) {
	var s *vault.Store
	var e *agent.Entry
	if !f.passphraseOnly {
		e = f.agentKeys(loc, l.ConfigID())
	}
	if e != nil {
		var err error
		s, err = l.Unlock(ctx, vault.Keys(entryKeys(e)))
		if err != nil {
			return nil, fmt.Errorf("cannot open the store at %s with the agent's keys: %w", loc, err)
		}
	} else {
		var pass []byte
		var err error
		s, pass, err = f.unlockPassphrase(ctx, loc, l)
		term.Wipe(pass)
		if err != nil {
			return nil, err
		}
		f.agentPut(loc, l, s)
	}
	return s, nil
}

// errEmptyStore is what a read returns to readTask when it found nothing
// (an empty store, no credential for a host) and its command is to say so
// quietly, so that readTask checks that the agent's keys are the store's.
var errEmptyStore = errors.New("nothing found in the store")

// readTask runs read, which only reads, in a task on the store. When the
// agent holds the store's keys the config is not read: a get is then one
// request. Those keys and that shard count may be stale (the store was
// re-created, resharded or given new keys), which shows as a failure of
// read: a shard that does not decrypt, a sealed shard, or an entry that
// seems missing because the old keys route it to a shard the new store has
// not written. So on any failure the config is read once: if it is the one
// the keys came from, the failure is real; if not, the store is unlocked
// again and read retried. The stray-shard check is left to that path:
// it guards against a config whose shard count was altered, and this
// path routes by a count read from a config checked before (a listing or
// a config read here would cost the request the agent saves). Commands
// that write use openStore, which reads the config first: a write with
// stale keys would encrypt shards under them.
func (f *Factory) readTask(ctx context.Context, read func(*vault.Task) error) error {
	loc, err := f.storeLocation()
	if err != nil {
		return err
	}
	a, err := f.adapter(ctx, loc)
	if err != nil {
		return err
	}
	if e := f.agentKeys(loc, ""); e != nil {
		s, err := vault.OpenKeys(a, entryKeys(e), e.Shards, f.VaultOptions)
		if err == nil {
			err = read(s.NewTask(ctx))
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		l, lerr := f.locate(ctx, loc, a)
		if errors.Is(lerr, vault.ErrNoStore) {
			return lerr
		}
		if lerr != nil || l.ConfigID() == e.ConfigID {
			return err
		}
		s, err = f.unlock(ctx, loc, l)
		if err != nil {
			return err
		}
		return read(s.NewTask(ctx))
	}
	l, err := f.locate(ctx, loc, a)
	if err != nil {
		return err
	}
	s, err := f.unlockKeys(ctx, loc, l)
	if err != nil {
		return err
	}
	err = read(s.NewTask(ctx))
	if err == nil || ctx.Err() != nil || f.fsck {
		return err
	}
	// The stray-shard check runs after a read that failed or found
	// nothing, not before every read: listing a store of 1,024 shards (2,000
	// files) was a fifth of the CPU of a get. A read that succeeded read
	// shards the config names, that exist, decrypt under this store's keys
	// and are not sealed, and returned what they hold; stray files hide
	// entries (issue 12: an altered shard count routes every path to files
	// that do not exist), and a hidden entry shows as a miss, which lands
	// here and is reported as the strays it comes from. A command that
	// writes checks before it writes (openStore, unlockStore).
	if serr := refuseStrayShards(ctx, loc, s); serr != nil {
		return serr
	}
	return err
}
