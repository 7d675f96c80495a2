package remotestorage_test

import (
	"os"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
)

func TestMain(m *testing.M) {
	code := m.Run()
	rstest.Shutdown()
	os.Exit(code)
}

// newAdapter returns an adapter on a fresh account's folder: the adapter
// alone (one attempt per call), or in the stack with a retry layer, as
// the command line and the page compose it.
func newAdapter(t *testing.T, k rstest.Kind, stacked bool, tweak func(*remotestorage.Options)) adapters.Adapter {
	t.Helper()
	st := rstest.Get(t, k).NewStore(t, "")
	opts := st.Options()
	if tweak != nil {
		tweak(&opts)
	}
	a, err := remotestorage.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if stacked {
		return stack.Build(a, stack.Options{Retry: &retry.Options{}})
	}
	return a
}

// TestContract runs the shared adapter contract suite against both real
// servers, with the torn-read check on (the default), through the stack
// with its retry layer.
func TestContract(t *testing.T) {
	t.Parallel() // every subtest has a fresh account's folder
	for _, k := range rstest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			adaptertest.Run(t, func(t *testing.T) adapters.Adapter { return newAdapter(t, k, true, nil) })
		})
	}
}

// TestContractAtomicReads runs the suite on remotestorage-server, whose
// reads are atomic, without the torn-read check and without retries: the
// plain GET/PUT mapping, one attempt per call, meets the contract on its
// own.
func TestContractAtomicReads(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return newAdapter(t, rstest.RSServer, false, func(o *remotestorage.Options) { o.AtomicReads = true })
	})
}
