package peakrss

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The child: touch TOUCH_MB of memory, hold it a moment, exit.
func TestMain(m *testing.M) {
	if mb := os.Getenv("PEAKRSS_TEST_TOUCH_MB"); mb != "" {
		n, _ := strconv.Atoi(mb)
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		time.Sleep(100 * time.Millisecond)
		runtime.KeepAlive(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(t *testing.T, touchMB int) (watched, rusage int64) {
	t.Helper()
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "PEAKRSS_TEST_TOUCH_MB="+strconv.Itoa(touchMB))
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	stop := Watch(c.Process.Pid)
	err := c.Wait()
	watched = stop()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	ru := c.ProcessState.SysUsage().(*syscall.Rusage)
	return watched, ru.Maxrss * 1024
}

func TestWatchSeesTheChildsPeak(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	got, _ := runChild(t, 64)
	if got < 64<<20 || got > 256<<20 {
		t.Fatalf("peak of a child that touched 64 MiB: %d MiB", got>>20)
	}
}

// A small child of a large parent: its rusage carries the parent's mark
// (vfork), the watched peak is its own.
func TestWatchIgnoresTheParentsPeak(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	big := make([]byte, 96<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	got, ru := runChild(t, 1)
	runtime.KeepAlive(big)
	t.Logf("child touching 1 MiB beside a parent holding 96 MiB: watched %d MiB, rusage %d MiB", got>>20, ru>>20)
	if got == 0 || got > 48<<20 {
		t.Fatalf("peak of a child that touched 1 MiB: %d MiB (the parent holds 96 MiB)", got>>20)
	}
}
