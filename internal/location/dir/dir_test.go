package dir

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/internal/location"
)

func TestHintForAnotherProgramsLock(t *testing.T) {
	le := &localdir.LockedError{Path: "/s/shard-0000-ffff.lock", Age: time.Second, Waited: 10 * time.Second, StaleAfter: 30 * time.Second}
	err := fmt.Errorf("failed to set /a: %w", adapters.NewError("write", "shard-0000-ffff", adapters.ErrTransient, le))
	l := location.Location{Scheme: Scheme, Where: "/s"}
	h := l.Hint(err)
	if !strings.Contains(h, "removes /s/shard-0000-ffff.lock by itself once it is 30s old") || !strings.Contains(h, "vaultdb fsck") {
		t.Errorf("hint %q", h)
	}
	if h := l.Hint(adapters.NewError("write", "x", adapters.ErrTransient, nil)); h != "" {
		t.Errorf("hint for another error: %q", h)
	}
}
