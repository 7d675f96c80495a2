package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	locdropbox "github.com/vaultdb/vaultdb/internal/location/dropbox"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/internal/webui"
)

// DefaultWebPort is where "vaultdb web" serves the page. It is fixed
// because a store kept in the browser belongs to the page's origin, port
// included: the same store is found again only at the same address.
const DefaultWebPort = 8385

// WebOptions are the options of "vaultdb web".
type WebOptions struct {
	IO        *term.IOStreams
	LookupEnv func(string) (string, bool)
	Port      int
}

func newWebCmd(f *Factory, runF func(*WebOptions) error) *cobra.Command {
	o := &WebOptions{IO: f.IO, LookupEnv: f.LookupEnv}
	c := &cobra.Command{
		Use:   "web [--port N]",
		Short: "Serve the vaultdb web page on this machine (127.0.0.1)",
		Long: `Serve the vaultdb web page at http://127.0.0.1:PORT/ until interrupted.

The page opens the same stores as the command line in Dropbox
(dropbox:/FOLDER) and on remoteStorage servers (rs:USER@HOST), and stores
kept in the browser itself (IndexedDB, or ls:NAME for localStorage). It
runs the engine in the browser: this command only serves its files, and
listens on 127.0.0.1 only. A store kept in the browser belongs to the
address, port included: use the same --port each time.

For Dropbox the page signs in as the app named by $VAULTDB_DROPBOX_APP_KEY
(see "vaultdb login dropbox --help"); the page needs the app's redirect
URI set to the address above.

The page's files are built into vaultdb by "make build" or "make install";
a vaultdb built with plain "go build" says so and serves nothing.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if o.Port < 0 || o.Port > 65535 {
				return usageErrorf("--port %d is not a TCP port (0 to 65535)", o.Port)
			}
			if runF != nil {
				return runF(o)
			}
			return runWeb(c.Context(), o)
		},
	}
	c.Flags().IntVar(&o.Port, "port", DefaultWebPort, "serve on 127.0.0.1:`PORT` (0: any free port)")
	return c
}

func runWeb(ctx context.Context, o *WebOptions) error {
	site, err := webui.Site()
	if err != nil {
		return err
	}
	cfg, err := webConfig(o.LookupEnv)
	if err != nil {
		return err
	}
	ln, err := webui.Listen(o.Port)
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s/", ln.Addr())
	fmt.Fprintln(o.IO.Out, url)
	fmt.Fprintf(o.IO.ErrOut, "vaultdb: serving the page at %s on this machine only; Ctrl-C stops\n", url)
	return webui.Serve(ctx, ln, webui.Handler(site, cfg))
}

// webConfig is the page's config.json: the Dropbox app and, when set for
// tests, Dropbox's URLs, from the variables the command line's Dropbox
// reads; nil when none is set.
func webConfig(lookup func(string) (string, bool)) ([]byte, error) {
	d := map[string]string{}
	for key, env := range map[string]string{
		"appKey": locdropbox.EnvAppKey, "apiBase": locdropbox.EnvAPIURL, "contentBase": locdropbox.EnvContentURL,
		"tokenURL": locdropbox.EnvTokenURL, "authURL": locdropbox.EnvAuthURL,
	} {
		v, _ := lookup(env)
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if key != "appKey" {
			if err := locdropbox.CheckServiceURL(v); err != nil {
				return nil, usageErrorf("%s: %v", env, err)
			}
		}
		d[key] = v
	}
	if len(d) == 0 {
		return nil, nil
	}
	return json.Marshal(map[string]any{"dropbox": d})
}
