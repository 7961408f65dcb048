package examples

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Addresses in config/nginx/auth_request.conf that the tests point at
// their own servers.
const (
	nginxCheckAddr    = "127.0.0.1:9002"
	nginxUpstreamAddr = "127.0.0.1:8081"
)

// nginxBinary finds nginx on PATH or where Debian installs it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("nginx"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Fatal("nginx not found: run hack/install-test-deps.sh (make test does)")
	return ""
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// writeNginxExample copies the example into dir with its file paths moved
// into dir, its listener on listen and its upstreams at checkAddr and
// upstreamAddr, and returns the copy's path.
func writeNginxExample(t *testing.T, dir, listen, checkAddr, upstreamAddr string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "nginx", "auth_request.conf"))
	if err != nil {
		t.Fatal(err)
	}
	tempPaths := fmt.Sprintf("http {\n  client_body_temp_path %[1]s/body;\n  proxy_temp_path %[1]s/proxy;\n"+
		"  fastcgi_temp_path %[1]s/fastcgi;\n  uwsgi_temp_path %[1]s/uwsgi;\n  scgi_temp_path %[1]s/scgi;\n", dir)
	replacements := []struct{ old, new string }{
		{"pid /run/nginx.pid;", "pid " + dir + "/nginx.pid;"},
		{"error_log /var/log/nginx/error.log;", "error_log " + dir + "/error.log;"},
		{"access_log /var/log/nginx/access.log;", "access_log " + dir + "/access.log;"},
		{"listen 8080;", "listen " + listen + ";"},
		{"server " + nginxCheckAddr + ";", "server " + checkAddr + ";"},
		{"server " + nginxUpstreamAddr + ";", "server " + upstreamAddr + ";"},
		{"http {\n", tempPaths},
	}
	conf := string(data)
	for _, r := range replacements {
		if !strings.Contains(conf, r.old) {
			t.Fatalf("%q not found in auth_request.conf", r.old)
		}
		conf = strings.Replace(conf, r.old, r.new, 1)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNginxExampleSyntax(t *testing.T) {
	bin := nginxBinary(t)
	dir := t.TempDir()
	conf := writeNginxExample(t, dir, freeLoopbackAddr(t), nginxCheckAddr, nginxUpstreamAddr)
	out, err := exec.CommandContext(t.Context(), bin, "-t", "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "test is successful") {
		t.Errorf("nginx -t output %q, want it to contain %q", out, "test is successful")
	}
}

// checkStub replaces Gatehouse's HTTP check, so that this test covers
// the nginx example alone. It allows "Bearer good" as subject alice,
// rejects "Bearer weak" for a missing scope and anything else as
// unauthenticated. test/e2e runs nginx against the real check.
type checkStub struct {
	mu   sync.Mutex
	seen []string
	srv  *httptest.Server
}

func startCheckStub(t *testing.T) *checkStub {
	t.Helper()
	stub := &checkStub{}
	stub.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stub.mu.Lock()
		stub.seen = append(stub.seen, r.Header.Get("X-Original-Method")+" "+r.Header.Get("X-Original-URI"))
		stub.mu.Unlock()
		switch r.Header.Get("Authorization") {
		case "Bearer good":
			w.Header().Set("X-Auth-Subject", "alice")
			w.Header().Set("X-Auth-Scope", "orders:read")
			w.WriteHeader(http.StatusOK)
		case "Bearer weak":
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope"`)
			w.WriteHeader(http.StatusForbidden)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(stub.srv.Close)
	return stub
}

func (s *checkStub) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// startNginxExample runs the example on a free loopback port and returns
// its base URL.
func startNginxExample(t *testing.T, checkAddr, upstreamAddr string) string {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	listen := freeLoopbackAddr(t)
	conf := writeNginxExample(t, dir, listen, checkAddr, upstreamAddr)
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			errorLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", output.String(), errorLog)
		}
	})
	waitForListener(t, listen)
	return "http://" + listen
}

func waitForListener(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx not listening on %s after 10s", addr)
}

// nginxResult contains what a client and the app see of one request.
type nginxResult struct {
	Status          int
	WWWAuthenticate string
	AppSubject      []string
	AppScope        []string
	AppReached      bool
}

func TestNginxExampleRequests(t *testing.T) {
	stub := startCheckStub(t)
	var mu sync.Mutex
	var appHeaders []http.Header
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		appHeaders = append(appHeaders, r.Header.Clone())
		mu.Unlock()
		_, _ = w.Write([]byte("ok\n"))
	}))
	t.Cleanup(app.Close)
	base := startNginxExample(t, stub.srv.Listener.Addr().String(), app.Listener.Addr().String())

	tests := []struct {
		name          string
		path          string
		authorization string
		want          nginxResult
	}{
		{
			name:          "allowed with identity",
			path:          "/orders/1?x=y",
			authorization: "Bearer good",
			want:          nginxResult{Status: 200, AppSubject: []string{"alice"}, AppScope: []string{"orders:read"}, AppReached: true},
		},
		{
			name: "missing token",
			path: "/orders/1",
			want: nginxResult{Status: 401, WWWAuthenticate: `Bearer realm="gatehouse"`},
		},
		{
			name:          "insufficient scope",
			path:          "/orders/1",
			authorization: "Bearer weak",
			want:          nginxResult{Status: 403},
		},
		{
			name: "health without token",
			path: "/healthz",
			want: nginxResult{Status: 200, AppReached: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			before := len(appHeaders)
			mu.Unlock()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Spoofed identity and check headers that nginx must replace.
			req.Header.Set("X-Auth-Subject", "mallory")
			req.Header.Set("X-Original-URI", "/healthz")
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			got := nginxResult{Status: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate")}
			mu.Lock()
			if len(appHeaders) > before {
				got.AppReached = true
				got.AppSubject = appHeaders[len(appHeaders)-1].Values("X-Auth-Subject")
				got.AppScope = appHeaders[len(appHeaders)-1].Values("X-Auth-Scope")
			}
			mu.Unlock()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GET %s mismatch (-want +got):\n%s", tt.path, diff)
			}
		})
	}

	wantChecks := []string{"GET /orders/1?x=y", "GET /orders/1", "GET /orders/1"}
	if diff := cmp.Diff(wantChecks, stub.requests()); diff != "" {
		t.Errorf("check requests mismatch (-want +got):\n%s", diff)
	}
}
