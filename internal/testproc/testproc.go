// Package testproc starts and stops the processes of end-to-end tests: it
// builds the Gatehouse binaries, finds free loopback ports, waits for
// readiness endpoints and collects output. It holds no test of its own and
// imports nothing from Gatehouse.
package testproc

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// RepoRoot is the root of the Gatehouse checkout.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build builds each package (a path relative to the repository root, such
// as ./cmd/gatehouse) into dir, named after the last element of its path.
func Build(dir string, packages ...string) error {
	for _, pkg := range packages {
		out := filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = RepoRoot()
		if output, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
		}
	}
	return nil
}

// FreePort returns a loopback address with a port that was free a moment
// ago.
func FreePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitReady polls url until it returns 200 or timeout passes.
func WaitReady(tb testing.TB, url string, timeout time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), timeout)
	defer cancel()
	for {
		status, err := get(ctx, url)
		if err == nil && status == http.StatusOK {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s not ready after %s (last status %d, error %v)", url, timeout, status, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func get(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// Process is a started command whose output is collected.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	Logs *Buffer

	stopOnce sync.Once
	exitErr  error
}

// Start runs bin with args and collects its standard output and error. It
// stops the process when the test ends, and logs the output if the test
// failed.
func Start(tb testing.TB, name, bin string, args ...string) *Process {
	tb.Helper()
	p := &Process{Name: name, Cmd: exec.Command(bin, args...), Logs: &Buffer{}}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Logs, p.Logs
	if err := p.Cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	tb.Cleanup(func() {
		p.Stop(15 * time.Second)
		if tb.Failed() {
			tb.Logf("%s output:\n%s", name, p.Logs.String())
		}
	})
	return p
}

// Stop sends SIGTERM, kills the process if it has not exited within grace,
// and returns its exit error. Later calls return the first result.
func (p *Process) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() {
		_ = p.Cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- p.Cmd.Wait() }()
		select {
		case p.exitErr = <-done:
		case <-time.After(grace):
			_ = p.Cmd.Process.Kill()
			p.exitErr = fmt.Errorf("%s did not stop within %s: %w", p.Name, grace, <-done)
		}
	})
	return p.exitErr
}

// Buffer collects process output safely from several goroutines.
type Buffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Eventually calls check every 50 ms until it returns nil, and returns how
// long that took. It fails the test with the last error after timeout.
func Eventually(tb testing.TB, what string, timeout time.Duration, check func() error) time.Duration {
	tb.Helper()
	start := time.Now()
	for {
		err := check()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			tb.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
