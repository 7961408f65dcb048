package redis_test

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// startupTimeout bounds how long a test waits for redis-server to respond to PING.
const startupTimeout = 10 * time.Second

// server is a redis-server process that a test started on loopback.
type server struct {
	addr string
	dir  string
	args []string
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

// startServer starts redis-server on a free loopback port with its files in
// a new temporary directory, and stops it in t.Cleanup. extra adds
// configuration, such as persistence.
func startServer(t testing.TB, extra ...string) *server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH (%v): run hack/install-test-deps.sh as root to install it", err)
	}
	dir := t.TempDir()
	port := freePort(t)
	s := &server{
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		dir:  dir,
		args: append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir}, extra...),
	}
	s.start(t, path)
	t.Cleanup(s.kill)
	return s
}

func (s *server) start(t testing.TB, path string) {
	t.Helper()
	s.logs = new(bytes.Buffer)
	s.cmd = exec.Command(path, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	if err := s.waitReady(t); err != nil {
		s.kill()
		t.Fatalf("redis-server on %s did not respond to PING: %v\n%s", s.addr, err, s.logs)
	}
}

func (s *server) waitReady(t testing.TB) error {
	client := goredis.NewClient(&goredis.Options{Addr: s.addr, DisableIdentity: true})
	defer client.Close()
	deadline := time.Now().Add(startupTimeout)
	for {
		err := client.Ping(t.Context()).Err()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the process by its PID with SIGKILL, which gives Redis no
// chance to save, and waits for it.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// restart kills the server and starts it again with the same port and
// directory.
func (s *server) restart(t testing.TB) {
	t.Helper()
	s.kill()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH: %v", err)
	}
	s.start(t, path)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// options returns client options for the server.
func (s *server) options() *goredis.UniversalOptions {
	return &goredis.UniversalOptions{Addrs: []string{s.addr}, DisableIdentity: true}
}

// prefix returns a key prefix of its own for test n.
func prefix(n int) string {
	return fmt.Sprintf("test%d:", n)
}
