// Package location is the registry of store locations: which kinds of store
// the command line can open, how a location string names one, and how each
// kind is opened, signed in to and signed out of.
//
// A location is either a path to a local directory or SCHEME:REST, where
// SCHEME names a kind of store registered here (case does not matter:
// "Dropbox:/x" is "dropbox:/x"). A SCHEME: prefix that is not registered is
// an error, never a local directory of that name; such a directory is still
// reachable as "./name:" or with the explicit "dir:" scheme.
//
// Each kind of store is a Scheme in its own package under internal/location
// (dir, dropbox, ...), listed once in package all. Opening composes the
// scheme's base adapter with the decorators in one place, adapters/stack.
// Schemes belong to the command line, not to the adapters: they own the
// sign-in files and say what the user should do next; the adapter packages
// only report what went wrong.
package location

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/stack"
)

// Env is what a scheme may use of the command line around it.
type Env struct {
	// Getenv reads the environment.
	Getenv func(string) string
	// ConfigDir is vaultdb's configuration directory, where sign-ins are
	// kept ("" when it cannot be told; ConfigDirErr says why).
	ConfigDir    string
	ConfigDirErr error
	// ErrOut receives messages for the user (sign-in instructions,
	// warnings); never secrets.
	ErrOut io.Writer
	// ReadLine asks the user for one line that is not a secret (a pasted
	// code), on the terminal or from stdin.
	ReadLine func(ctx context.Context, prompt string) (string, error)
}

// Warnf prints a warning for the user.
func (e *Env) Warnf(format string, args ...any) {
	if e.ErrOut != nil {
		fmt.Fprintf(e.ErrOut, "warning: "+format+"\n", args...)
	}
}

// LoginOptions are the arguments of "vaultdb login SCHEME".
type LoginOptions struct {
	// Args are the arguments after the scheme's name.
	Args []string
	// AppKey is the OAuth client id to sign in with, for services where
	// the user registers their own app ("" for the default).
	AppKey string
}

// Scheme is one kind of store.
type Scheme struct {
	// Name is the scheme as written before the colon, in lower case;
	// Aliases are other accepted names.
	Name    string
	Aliases []string
	// Usage shows the form of a location, such as "dropbox:/FOLDER".
	Usage string
	// Parse checks the part after "SCHEME:" and returns it in canonical
	// form. It makes no request and reads no file.
	Parse func(rest string) (string, error)
	// Open returns the store at the parsed location, without the
	// decorators (Registry.Open adds them).
	Open func(ctx context.Context, env *Env, where string) (adapters.Adapter, error)
	// Layers, if not nil, adds the decorators this kind of store needs
	// to the caller's choice.
	Layers func(*stack.Options)
	// Hint, if not nil, says what the user can do about err, a failure of
	// a store of this kind, or returns "" (see Location.Hint).
	Hint func(err error) string
	// Login and Logout sign in to and out of the service; nil for kinds
	// of store that need no sign-in.
	Login  func(ctx context.Context, env *Env, opts LoginOptions) error
	Logout func(ctx context.Context, env *Env) error
	// LoginArgs, if not nil, returns the arguments "vaultdb login NAME"
	// needs to sign in for the store at where (such as the account of a
	// remoteStorage store), for hints.
	LoginArgs func(where string) []string
}

func (s *Scheme) names() []string { return append([]string{s.Name}, s.Aliases...) }

// Location is a parsed store location.
type Location struct {
	Scheme *Scheme
	// Where is the scheme-specific part, canonical.
	Where string
	// local is set for a plain path (no scheme written).
	local bool
}

// String returns the location as the user can write it again.
func (l Location) String() string {
	if l.local {
		return l.Where
	}
	return l.Scheme.Name + ":" + l.Where
}

// Hint says what the user can do about err, a failure of the store at l,
// or "" when there is nothing to add.
func (l Location) Hint(err error) string {
	if l.Scheme != nil && l.Scheme.Hint != nil {
		if h := l.Scheme.Hint(err); h != "" {
			return h
		}
	}
	if l.Scheme == nil || l.Scheme.Login == nil {
		return ""
	}
	login := "vaultdb login " + l.Scheme.Name
	if l.Scheme.LoginArgs != nil {
		for _, a := range l.Scheme.LoginArgs(l.Where) {
			login += " " + a
		}
	}
	if errors.Is(err, ErrNotSignedIn) {
		return fmt.Sprintf("run \"%s\" first", login)
	}
	if errors.Is(err, adapters.ErrUnauthorized) {
		return fmt.Sprintf("run \"%s\" to sign in again", login)
	}
	return ""
}

// ErrNotSignedIn matches the errors of opening a store whose service has
// no usable saved sign-in (see NotSignedInf). They also match
// adapters.ErrUnauthorized.
var ErrNotSignedIn = errors.New("not signed in")

type notSignedInError struct{ msg string }

func (e *notSignedInError) Error() string { return e.msg }
func (e *notSignedInError) Is(target error) bool {
	return target == ErrNotSignedIn || target == adapters.ErrUnauthorized
}

// NotSignedInf returns an error matching ErrNotSignedIn.
func NotSignedInf(format string, args ...any) error {
	return &notSignedInError{fmt.Sprintf(format, args...)}
}

// ErrUsage matches errors in a location as written (bad syntax, unknown
// scheme): the user has to change the command line.
var ErrUsage = errors.New("invalid store location")

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

// Usagef returns an error matching ErrUsage.
func Usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// Registry is the set of schemes the command line knows.
type Registry struct {
	local   *Scheme
	schemes []*Scheme
}

// NewRegistry returns a registry where a plain path is opened by local
// (which is also reachable by its own name) and SCHEME: by the others.
func NewRegistry(local *Scheme, schemes ...*Scheme) *Registry {
	return &Registry{local: local, schemes: append([]*Scheme{local}, schemes...)}
}

// Schemes lists the registered schemes, the local one first.
func (r *Registry) Schemes() []*Scheme { return r.schemes }

// Lookup returns the scheme called name (any case), or nil.
func (r *Registry) Lookup(name string) *Scheme {
	for _, s := range r.schemes {
		for _, n := range s.names() {
			if strings.EqualFold(n, name) {
				return s
			}
		}
	}
	return nil
}

// schemeRE matches a scheme prefix, as in RFC 3986. A single letter is
// included on purpose: vaultdb has no drive letters to confuse it with.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// Parse reads a location as the user wrote it.
func (r *Registry) Parse(s string) (Location, error) {
	if s == "" {
		return Location{}, Usagef("the store location is empty")
	}
	m := schemeRE.FindStringSubmatch(s)
	if m == nil {
		where, err := r.local.Parse(s)
		if err != nil {
			return Location{}, err
		}
		return Location{Scheme: r.local, Where: where, local: true}, nil
	}
	sc := r.Lookup(m[1])
	if sc == nil {
		return Location{}, Usagef("unknown kind of store %q in %q: use %s (a directory whose name has a colon can be written ./%s)",
			m[0], s, r.usages(), s)
	}
	where, err := sc.Parse(s[len(m[0]):])
	if err != nil {
		return Location{}, err
	}
	return Location{Scheme: sc, Where: where}, nil
}

func (r *Registry) usages() string {
	var u []string
	u = append(u, "a directory")
	for _, s := range r.schemes {
		u = append(u, s.Usage)
	}
	return strings.Join(u[:len(u)-1], ", ") + " or " + u[len(u)-1]
}

// Open returns the store at l with the decorators opts asks for, plus those
// the scheme needs, composed by stack.Build.
func (r *Registry) Open(ctx context.Context, env *Env, l Location, opts stack.Options) (adapters.Adapter, error) {
	base, err := l.Scheme.Open(ctx, env, l.Where)
	if err != nil {
		return nil, err
	}
	if l.Scheme.Layers != nil {
		l.Scheme.Layers(&opts)
	}
	return stack.Build(base, opts), nil
}
