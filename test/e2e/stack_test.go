package e2e

import (
	"bufio"
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

// buildOnce builds the gatehouse binary once for all tests of the package.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gatehouse")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

// freePort returns a loopback address with a port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// devStack is a running `gatehouse dev` process.
type devStack struct {
	IssuerURL string
	GRPCAddr  string
	HTTPAddr  string
	AdminAddr string
	logs      *lockedBuffer // standard error: the structured log
	stdout    *lockedBuffer // standard output: the welcome text
}

// startDev starts `gatehouse dev` on free loopback ports and waits until it
// reports ready. The process is stopped when the test ends.
func startDev(t *testing.T, extraArgs ...string) *devStack {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatalf("build gatehouse: %v", err)
	}
	issuerAddr := freePort(t)
	s := &devStack{
		IssuerURL: "http://" + issuerAddr,
		GRPCAddr:  freePort(t),
		HTTPAddr:  freePort(t),
		AdminAddr: freePort(t),
		logs:      &lockedBuffer{},
		stdout:    &lockedBuffer{},
	}
	args := append([]string{
		"dev",
		"--issuer-listen=" + issuerAddr,
		"--grpc-listen=" + s.GRPCAddr,
		"--http-listen=" + s.HTTPAddr,
		"--admin-listen=" + s.AdminAddr,
		"--log-level=debug",
	}, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout = s.stdout
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gatehouse dev: %v", err)
	}
	t.Cleanup(func() {
		stopProcess(cmd, 15*time.Second)
		if t.Failed() {
			t.Logf("gatehouse dev output:\n%s%s", s.stdout.String(), s.logs.String())
		}
	})
	waitReady(t, "http://"+s.AdminAddr+"/readyz", 20*time.Second)
	return s
}

// waitReady polls url until it returns 200 or the timeout passes.
func waitReady(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not ready after %s (last error: %v)", url, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lockedBuffer collects process output safely from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the collected output split into lines.
func (b *lockedBuffer) lines() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// stopProcess sends SIGINT to a process this test started, and kills it if
// it has not exited within grace.
func stopProcess(cmd *exec.Cmd, grace time.Duration) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}
