package serve

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestAdminReadiness(t *testing.T) {
	var ready, degraded atomic.Bool
	warnings := func() []string {
		if degraded.Load() {
			return []string{"feed down"}
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_test_total", Help: "Test counter."}))
	ctx, cancel := context.WithCancel(t.Context())
	l, err := Listen(ctx, "admin", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- HTTP(ctx, slog.New(slog.DiscardHandler), "admin", l, AdminHandler(reg, Readiness{Ready: ready.Load, Warnings: warnings}))
	}()
	base := "http://" + l.Addr().String()

	checks := []struct {
		name       string
		path       string
		setReady   bool
		degrade    bool
		wantStatus int
		wantBody   string
	}{
		{name: "health while not ready", path: "/healthz", wantStatus: http.StatusOK, wantBody: "ok\n"},
		{name: "not ready", path: "/readyz", wantStatus: http.StatusServiceUnavailable, wantBody: "not ready\n"},
		{name: "ready", path: "/readyz", setReady: true, wantStatus: http.StatusOK, wantBody: "ok\n"},
		{name: "ready with warning", path: "/readyz", degrade: true, wantStatus: http.StatusOK, wantBody: "ok\nwarning: feed down\n"},
		{name: "metrics", path: "/metrics", wantStatus: http.StatusOK},
		{name: "unknown path", path: "/nope", wantStatus: http.StatusNotFound},
	}
	for _, c := range checks {
		if c.setReady {
			ready.Store(true)
		}
		if c.degrade {
			degraded.Store(true)
		}
		status, body := get(t, base+c.path)
		if status != c.wantStatus {
			t.Errorf("%s: GET %s status = %d, want %d", c.name, c.path, status, c.wantStatus)
		}
		if c.wantBody != "" && body != c.wantBody {
			t.Errorf("%s: GET %s body = %q, want %q", c.name, c.path, body, c.wantBody)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("HTTP returned %v after shutdown, want nil", err)
		}
	case <-time.After(ShutdownGrace + time.Second):
		t.Fatal("HTTP did not return after its context ended")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}
