package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testproc"
)

// buildTimeout bounds one `go build` of a command; a cold build of the
// controller compiles controller-runtime and client-go.
const buildTimeout = 10 * time.Minute

// goBuild builds the command in package dir pkg (relative to this package)
// into dir/name and returns the path of the binary.
func goBuild(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, output)
	}
	return out
}

// controllerHelp builds gatehouse-controller and returns the usage text it
// prints for -h, which `gatehouse controller -h` prints too.
func controllerHelp(t *testing.T) string {
	t.Helper()
	controller := goBuild(t, t.TempDir(), controllerBinary, "../gatehouse-controller")
	code, _, stderr := runBinary(t, nil, controller, "-h")
	if code != 2 {
		t.Fatalf("%s -h: exit code = %d, want 2 (stderr %q)", controllerBinary, code, stderr)
	}
	return stderr
}

// runBinary runs path with args and the extra environment variables, and
// returns its exit code, standard output and standard error.
func runBinary(t *testing.T, env []string, path string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %s: %v", path, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func TestControllerCommand(t *testing.T) {
	dir := t.TempDir()
	gatehouse := goBuild(t, dir, "gatehouse", ".")
	controller := goBuild(t, dir, controllerBinary, "../gatehouse-controller")

	t.Run("help from controller", func(t *testing.T) {
		code, _, stderr := runBinary(t, nil, gatehouse, "controller", "--help")
		if code != 2 {
			t.Errorf("exit code = %d, want 2 (stderr %q)", code, stderr)
		}
		for _, want := range []string{"Usage: gatehouse controller [flags]", "--watch-namespaces (GATEHOUSE_WATCH_NAMESPACES)", "--signing-key-retire-after"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, want)
			}
		}
	})

	t.Run("environment and exit code", func(t *testing.T) {
		// Only the controller parses --log-format, so its message proves
		// that the environment reached it and its exit code came back.
		env := []string{"GATEHOUSE_LOG_FORMAT=xml", "GATEHOUSE_ISSUER_URL=https://issuer.example.test"}
		code, _, stderr := runBinary(t, env, gatehouse, "controller", "--namespace=gatehouse-system")
		if code != 1 {
			t.Errorf("exit code = %d, want 1 (stderr %q)", code, stderr)
		}
		if want := `gatehouse controller: invalid --log-format "xml"`; !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want it to contain %q", stderr, want)
		}
	})

	t.Run("same process", func(t *testing.T) {
		testControllerReplacesProcess(t, gatehouse, controller)
	})

	t.Run("missing binary", func(t *testing.T) {
		alone := filepath.Join(t.TempDir(), "gatehouse")
		copyFile(t, gatehouse, alone)
		code, _, stderr := runBinary(t, nil, alone, "controller", "--help")
		if code != 1 {
			t.Errorf("exit code = %d, want 1 (stderr %q)", code, stderr)
		}
		want := filepath.Join(filepath.Dir(alone), controllerBinary) + " not found"
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want it to contain %q", stderr, want)
		}
	})
}

// testControllerReplacesProcess starts `gatehouse controller` against an
// API server address that accepts connections and never responds, so that
// the controller waits, and checks that the process it started now runs the
// controller binary.
func testControllerReplacesProcess(t *testing.T, gatehouse, controller string) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeKubeconfig(t, kubeconfig, silentServer(t))
	var stderr testproc.Buffer
	cmd := exec.Command(gatehouse, "controller", "--namespace=gatehouse-system",
		"--issuer-url=https://issuer.example.test", "--kubeconfig="+kubeconfig,
		"--health-listen=0", "--metrics-listen=0")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gatehouse controller: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // The test kills the process, so the exit status is not checked.
		close(exited)
	}()
	t.Cleanup(func() { stopProcess(t, cmd, exited) })

	exe := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "exe")
	deadline := time.Now().Add(10 * time.Second)
	for {
		target, err := os.Readlink(exe)
		if err == nil && target == controller {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d runs %q (error %v), want %s; stderr %q", cmd.Process.Pid, target, err, controller, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// silentServer listens on loopback, accepts connections and never writes
// to them, and returns its address. It stops when the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// stopProcess kills cmd if it is still running when the test ends.
func stopProcess(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill process %d: %v", cmd.Process.Pid, err)
	}
	<-exited
}

// writeKubeconfig writes a kubeconfig for an API server at address.
func writeKubeconfig(t *testing.T, path, address string) {
	t.Helper()
	config := `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://` + address + `
    insecure-skip-tls-verify: true
contexts:
- name: test
  context:
    cluster: test
    user: test
current-context: test
users:
- name: test
  user:
    token: not-a-real-token
`
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}
