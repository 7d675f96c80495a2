package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultdb/vaultdb/internal/agent"
	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

const envNoAgent = "VAULTDB_NO_AGENT"

// AgentOptions are the options of "vaultdb agent".
type AgentOptions struct {
	// ErrOut is the log, safe to write from several goroutines.
	ErrOut  io.Writer
	Getenv  func(string) string
	Timeout time.Duration
}

func newAgentCmd(f *Factory, runF func(*AgentOptions) error) *cobra.Command {
	o := &AgentOptions{ErrOut: lockedWriter{&f.errMu, f.IO.ErrOut}, Getenv: f.getenv}
	c := &cobra.Command{
		Use:   "agent",
		Short: "Keep unlocked store keys for a while, so that commands need no passphrase",
		Long: `Run the vaultdb agent in the foreground until it is stopped (Ctrl-C,
SIGTERM, SIGHUP). Start it once per session, for example "vaultdb agent &"
in a shell's profile or as a systemd user service; it is never started on
its own, so that no process holding keys runs unless you asked for one.
Started with "&" it stops, and forgets every key, when its terminal
closes (SIGHUP); "setsid vaultdb agent" or a service keeps it running.

While it runs, a command that needs the passphrase first asks the agent
for the store's keys; if it holds none it asks for the passphrase as
usual and hands the keys to the agent. The agent forgets a store's keys
after --timeout without use (default 10 minutes, like gpg-agent; 0 keeps
none), on "vaultdb lock", when the store's config changes (a new
passphrase, a re-created or resharded store) and when it stops. It keeps
keys, never entries: commands still read the store themselves.

It listens on $XDG_RUNTIME_DIR/vaultdb/agent.sock (without XDG_RUNTIME_DIR:
/tmp/vaultdb-UID/agent.sock), a socket only its user may open in a
directory only its user may enter; it refuses to start when the directory
is another user's or open to others, and answers only processes of its own
user (checked with SO_PEERCRED). Only one agent runs per directory.

What it protects against: other users (including a socket or directory
planted by one), core dumps and debuggers attaching to it (it is not
dumpable), keys reaching swap (locked in memory where RLIMIT_MEMLOCK
allows) or disk (never written), keys lasting after you stopped working
(the timeout).

What it does not protect against: any program you run can ask it for the
keys of a store it holds, as any program can use ssh-agent, and with the
keys and the store files it can read every entry; so can root. Use
"vaultdb lock" when you step away, --timeout 0 or no agent where that
matters. Commands skip the agent with --no-agent or VAULTDB_NO_AGENT=1.`,
		Example: `  vaultdb agent &
  vaultdb agent --timeout 1h
  vaultdb lock`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if o.Timeout < 0 {
				return usageErrorf("--timeout must not be negative")
			}
			if runF != nil {
				return runF(o)
			}
			return runAgent(c.Context(), o)
		},
	}
	c.Flags().DurationVar(&o.Timeout, "timeout", agent.DefaultTimeout, "forget a store's keys after `DURATION` without use (0: keep none)")
	return c
}

func runAgent(ctx context.Context, o *AgentOptions) error {
	// A closed terminal ends the agent like Ctrl-C: keys wiped, socket
	// removed.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()
	dir := agent.Dir(o.Getenv)
	l, err := agent.Listen(dir)
	if errors.Is(err, agent.ErrRunning) {
		return fmt.Errorf("%w: stop it first, or use it", err)
	}
	var ue *agent.UnsafeError
	if errors.As(err, &ue) {
		return fmt.Errorf("not starting the agent: %w", err)
	}
	if err != nil {
		return fmt.Errorf("cannot start the agent: %w", err)
	}
	defer l.Close()
	s := &agent.Server{Timeout: o.Timeout, Logf: func(format string, args ...any) {
		fmt.Fprintf(o.ErrOut, "vaultdb agent: "+format+"\n", args...)
	}}
	s.Logf("listening on %s (pid %d, keys kept %s after their last use)", l.Path, pid(), timeoutText(o.Timeout))
	err = s.Serve(ctx, l)
	s.Logf("stopped; every key forgotten")
	return err
}

func timeoutText(d time.Duration) string {
	if d == 0 {
		return "0s: none kept"
	}
	return d.String()
}

// LockOptions are the options of "vaultdb lock".
type LockOptions struct {
	IO            *term.IOStreams
	Getenv        func(string) string
	StoreLocation func() (location.Location, error)
	StoreOnly     bool
}

func newLockCmd(f *Factory, runF func(*LockOptions) error) *cobra.Command {
	o := &LockOptions{IO: f.IO, Getenv: f.getenv, StoreLocation: f.storeLocation}
	c := &cobra.Command{
		Use:   "lock",
		Short: "Make the agent forget the keys it holds",
		Long: `Make the running agent (see "vaultdb agent") forget the keys of every
store, so that the next command asks for the passphrase again. With
--store-only, only those of the store chosen by --store or $VAULTDB_STORE.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return runLock(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.StoreOnly, "store-only", false, "forget only the keys of the chosen store")
	return c
}

func runLock(_ context.Context, o *LockOptions) error {
	key := ""
	if o.StoreOnly {
		loc, err := o.StoreLocation()
		if err != nil {
			return err
		}
		key = agentKey(loc)
	}
	c, err := agent.NewClient(agent.Dir(o.Getenv))
	if errors.Is(err, agent.ErrNoAgent) {
		fmt.Fprintln(o.IO.ErrOut, "no vaultdb agent is running: no keys are held")
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot use the agent: %w", err)
	}
	n, err := c.Forget(key)
	if errors.Is(err, agent.ErrNoAgent) {
		fmt.Fprintln(o.IO.ErrOut, "no vaultdb agent is running: no keys are held")
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "the agent forgot the keys of %d store(s)\n", n)
	return nil
}

// agentKey names a store to the agent: its location in canonical form, a
// local directory by its absolute path (the same store from another
// working directory).
func agentKey(loc location.Location) string {
	where := loc.Where
	if loc.Scheme != nil && loc.Scheme.Name == "dir" {
		if abs, err := filepath.Abs(where); err == nil {
			where = abs
		}
	}
	name := ""
	if loc.Scheme != nil {
		name = loc.Scheme.Name
	}
	return name + ":" + where
}

// agent returns a client of the running agent, or nil when there is none,
// the user opted out, or it must not be used (said once on stderr; the
// command then asks for the passphrase as without an agent).
func (f *Factory) agent() *agent.Client {
	if f.agentChecked {
		return f.agentClient
	}
	f.agentChecked = true
	if f.NoAgent {
		return nil
	}
	if v, _ := f.LookupEnv(envNoAgent); v != "" && v != "0" {
		return nil
	}
	c, err := agent.NewClient(agent.Dir(f.getenv))
	if err != nil {
		f.agentFailed(err)
		return nil
	}
	f.agentClient = c
	return c
}

// agentFailed reports a failure to use the agent, except that there is
// none, and stops using it for this command.
func (f *Factory) agentFailed(err error) {
	f.agentClient = nil
	if errors.Is(err, agent.ErrNoAgent) {
		return
	}
	f.errMu.Lock()
	defer f.errMu.Unlock()
	fmt.Fprintf(f.IO.ErrOut, "vaultdb: warning: not using the agent: %s\n", term.Printable(err.Error()))
}

// agentKeys asks the agent for the keys of the store at loc (for the config
// configID, or any with ""); nil when it holds none.
func (f *Factory) agentKeys(loc location.Location, configID string) *agent.Entry {
	c := f.agent()
	if c == nil {
		return nil
	}
	e, err := c.Get(agentKey(loc), configID)
	if err != nil {
		f.agentFailed(err)
		return nil
	}
	return e
}

// agentPut hands the agent the keys of a store just unlocked.
func (f *Factory) agentPut(loc location.Location, l *vault.Locked, s *vault.Store) {
	c := f.agent()
	if c == nil {
		return
	}
	k := s.Keys()
	if _, err := c.Put(agentKey(loc), &agent.Entry{ConfigID: l.ConfigID(), Shards: l.Shards(), Cipher: k.Cipher, Router: k.Router}); err != nil {
		f.agentFailed(err)
	}
}

// agentForget makes the agent drop the keys of the store at loc, after a
// change that makes them stale (a new passphrase or new keys).
func (f *Factory) agentForget(loc location.Location) {
	if c := f.agent(); c != nil {
		if _, err := c.Forget(agentKey(loc)); err != nil {
			f.agentFailed(err)
		}
	}
}

func entryKeys(e *agent.Entry) *format.Keys {
	return &format.Keys{Cipher: e.Cipher, Router: e.Router}
}

func pid() int { return os.Getpid() }
