package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// nginxConfig puts nginx's auth_request in front of an upstream, asking the
// gatehouse HTTP check about each request and passing the identity headers
// on. proxy_set_header replaces any client-sent copy, and an empty value
// drops the header, so a client cannot set the value the upstream receives.
const nginxConfig = `
daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s;
    location = /_gatehouse_check {
      internal;
      proxy_pass http://%[3]s;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Host $host;
    }
    location / {
      auth_request /_gatehouse_check;
      auth_request_set $gatehouse_subject $upstream_http_x_auth_subject;
      auth_request_set $gatehouse_client_id $upstream_http_x_auth_client_id;
      auth_request_set $gatehouse_scope $upstream_http_x_auth_scope;
      auth_request_set $gatehouse_username $upstream_http_x_auth_username;
      proxy_set_header X-Auth-Subject $gatehouse_subject;
      proxy_set_header X-Auth-Client-Id $gatehouse_client_id;
      proxy_set_header X-Auth-Scope $gatehouse_scope;
      proxy_set_header X-Auth-Username $gatehouse_username;
      proxy_pass http://%[4]s;
    }
  }
}
`

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

// startNginx runs nginx on a free loopback port in front of upstream, with
// the gatehouse HTTP check at checkAddr, and returns its base URL.
func startNginx(t *testing.T, checkAddr, upstreamAddr string) string {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	listen := freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConfig, dir, listen, checkAddr, upstreamAddr), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		stopProcess(cmd, 10*time.Second)
		if t.Failed() {
			errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nnginx error.log:\n%s", out.String(), errLog)
		}
	})
	base := "http://" + listen
	waitListening(t, listen, 10*time.Second)
	return base
}

func waitListening(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/_probe_does_not_exist")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listening on %s after %s", addr, timeout)
}

// upstream records the headers of every request that reaches it.
type upstream struct {
	mu   sync.Mutex
	seen []http.Header
	srv  *httptest.Server
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("hello from upstream\n"))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// requests returns the headers of every request the upstream received.
func (u *upstream) requests() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

func (u *upstream) addr() string { return u.srv.Listener.Addr().String() }
