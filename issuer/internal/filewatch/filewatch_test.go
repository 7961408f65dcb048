package filewatch

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testproc"
)

const testInterval = 10 * time.Millisecond

// parseNumber accepts the decimal text of a non-negative integer.
func parseNumber(data []byte) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("negative")
	}
	return n, nil
}

// waitFor polls v until it holds want or five seconds have passed, a bound
// generous enough for a busy machine.
func waitFor(t *testing.T, v *Value[int], want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if v.Load() == want {
			return
		}
		time.Sleep(testInterval)
	}
	t.Fatalf("got value %d, want %d within 5s", v.Load(), want)
}

// writeFile replaces the file in one rename, so that a poll never reads it
// half-written.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatchReloadsChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n")
	writeFile(t, path, "1")
	var logs testproc.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	v, err := Watch(t.Context(), path, testInterval, logger, parseNumber)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if got := v.Load(); got != 1 {
		t.Fatalf("got initial value %d, want 1", got)
	}

	writeFile(t, path, "2")
	waitFor(t, v, 2)

	writeFile(t, path, "-5")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "reload failed") && time.Now().Before(deadline) {
		time.Sleep(testInterval)
	}
	// More polls of the same bad content must not log it again.
	time.Sleep(10 * testInterval)
	if got := v.Load(); got != 2 {
		t.Fatalf("after invalid content got %d, want the last good value 2", got)
	}
	if got := strings.Count(logs.String(), "reload failed"); got != 1 {
		t.Errorf("got %d failure log lines for one bad change, want 1:\n%s", got, logs.String())
	}

	writeFile(t, path, "3")
	waitFor(t, v, 3)
}

func TestWatchFollowsSymlinkSwap(t *testing.T) {
	// Kubernetes mounts a Secret as path -> ..data/path and updates it by
	// pointing the ..data symlink at a new directory.
	dir := t.TempDir()
	for i, content := range []string{"10", "20"} {
		sub := filepath.Join(dir, "v"+strconv.Itoa(i))
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(sub, "n"), content)
	}
	if err := os.Symlink("v0", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "n")
	if err := os.Symlink(filepath.Join("..data", "n"), path); err != nil {
		t.Fatal(err)
	}

	v, err := Watch(t.Context(), path, testInterval, slog.New(slog.DiscardHandler), parseNumber)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink("v1", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, v, 20)
}

func TestWatchFirstLoadErrors(t *testing.T) {
	dir := t.TempDir()
	invalid := filepath.Join(dir, "invalid")
	writeFile(t, invalid, "x")
	large := filepath.Join(dir, "large")
	writeFile(t, large, strings.Repeat("1", MaxFileSize+1))

	tests := []struct {
		name     string
		path     string
		interval time.Duration
		wantIs   error
	}{
		{name: "missing file", path: filepath.Join(dir, "missing"), interval: testInterval, wantIs: os.ErrNotExist},
		{name: "invalid content", path: invalid, interval: testInterval, wantIs: strconv.ErrSyntax},
		{name: "too large", path: large, interval: testInterval, wantIs: ErrTooLarge},
		{name: "zero interval", path: invalid, interval: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Watch(t.Context(), tt.path, tt.interval, slog.New(slog.DiscardHandler), parseNumber)
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("got error %v, want one wrapping %v", err, tt.wantIs)
			}
		})
	}
}
