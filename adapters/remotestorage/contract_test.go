package remotestorage_test

import (
	"os"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	rstest.Shutdown()
	os.Exit(code)
}

// newAdapter returns an adapter on a fresh account's folder.
func newAdapter(t *testing.T, k rstest.Kind, tweak func(*remotestorage.Options)) adapters.Adapter {
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
	return a
}

// TestContract runs the shared adapter contract suite against both real
// servers, with the torn-read check on (the default).
func TestContract(t *testing.T) {
	t.Parallel() // every subtest has a fresh account's folder
	for _, k := range rstest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			adaptertest.Run(t, func(t *testing.T) adapters.Adapter { return newAdapter(t, k, nil) })
		})
	}
}

// TestContractAtomicReads runs the suite on remotestorage-server, whose
// reads are atomic, without the torn-read check: the plain GET/PUT mapping
// meets the contract on its own.
func TestContractAtomicReads(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return newAdapter(t, rstest.RSServer, func(o *remotestorage.Options) { o.AtomicReads = true })
	})
}
