package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testproc"
)

// buildOnce builds the gatehouse binary once for all tests of the package.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-bin-")
	if err != nil {
		return "", err
	}
	if err := testproc.Build(dir, "./cmd/gatehouse"); err != nil {
		return "", err
	}
	return filepath.Join(dir, "gatehouse"), nil
})

// freePort returns a loopback address with a port that was free a moment ago.
func freePort(t *testing.T) string { return testproc.FreePort(t) }

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
func waitReady(t *testing.T, url string, timeout time.Duration) { testproc.WaitReady(t, url, timeout) }

// lockedBuffer collects process output safely from several goroutines.
type lockedBuffer = testproc.Buffer

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
