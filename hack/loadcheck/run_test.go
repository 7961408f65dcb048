package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// startFloor serves the floor Check on a free loopback port until the test
// ends and returns its address.
func startFloor(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveFloor(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveFloor() error = %v", err)
		}
	})
	return lis.Addr().String()
}

// startServer serves srv on a free loopback port until the test ends.
func startServer(t *testing.T, srv authv3.AuthorizationServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	authv3.RegisterAuthorizationServer(s, srv)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func newTestClient(t *testing.T, addr string) authv3.AuthorizationClient {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// testLevel returns a short level configuration for tests.
func testLevel(streams int, expect expectation) levelConfig {
	return levelConfig{
		streams:     streams,
		warmup:      20 * time.Millisecond,
		duration:    200 * time.Millisecond,
		maxRequests: defaultMaxReqs,
		timeout:     time.Second,
		expect:      expect,
		shape:       requestShape{method: "GET", host: "api.example.com", path: "/orders", token: "test-token"},
	}
}

type denyServer struct {
	authv3.UnimplementedAuthorizationServer
}

func (denyServer) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.Unauthenticated)}}, nil
}

type failServer struct {
	authv3.UnimplementedAuthorizationServer
}

func (failServer) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return nil, status.Error(codes.Unavailable, "backend down")
}

// recordServer allows every Check and keeps the headers it received.
type recordServer struct {
	authv3.UnimplementedAuthorizationServer
	mu      sync.Mutex
	headers []map[string]string
}

func (s *recordServer) Check(_ context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.headers = append(s.headers, req.GetAttributes().GetRequest().GetHttp().GetHeaders())
	return &authv3.CheckResponse{}, nil
}

func TestRunLevelFloor(t *testing.T) {
	client := newTestClient(t, startFloor(t))
	res, err := runLevel(t.Context(), client, testLevel(4, expectOK))
	if err != nil {
		t.Fatalf("runLevel() error = %v", err)
	}
	if res.requests == 0 {
		t.Fatal("requests = 0, want some")
	}
	if res.errors != 0 || res.mismatches != 0 {
		t.Errorf("errors, mismatches = %d, %d, want 0, 0", res.errors, res.mismatches)
	}
	if got := res.latency.Count(); got != res.requests {
		t.Errorf("latency count = %d, want requests %d", got, res.requests)
	}
	if res.elapsed < 200*time.Millisecond {
		t.Errorf("elapsed = %v, want at least the 200ms duration", res.elapsed)
	}
	if res.streams != 4 {
		t.Errorf("streams = %d, want 4", res.streams)
	}
}

func TestRunLevelRequestsMax(t *testing.T) {
	client := newTestClient(t, startFloor(t))
	cfg := testLevel(8, expectOK)
	cfg.duration = 30 * time.Second
	cfg.maxRequests = 300
	res, err := runLevel(t.Context(), client, cfg)
	if err != nil {
		t.Fatalf("runLevel() error = %v", err)
	}
	if res.requests != 300 {
		t.Errorf("requests = %d, want exactly -requests-max 300", res.requests)
	}
	if res.elapsed >= cfg.duration {
		t.Errorf("elapsed = %v, want an early stop before %v", res.elapsed, cfg.duration)
	}
}

func TestRunLevelDenied(t *testing.T) {
	client := newTestClient(t, startServer(t, denyServer{}))
	tests := []struct {
		name           string
		expect         expectation
		wantMismatches bool
	}{
		{name: "expect ok", expect: expectOK, wantMismatches: true},
		{name: "expect denied", expect: expectDenied, wantMismatches: false},
		{name: "expect any", expect: expectAny, wantMismatches: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runLevel(t.Context(), client, testLevel(2, tt.expect))
			if err != nil {
				t.Fatalf("runLevel() error = %v", err)
			}
			want := uint64(0)
			if tt.wantMismatches {
				want = res.requests
			}
			if res.requests == 0 || res.mismatches != want {
				t.Errorf("requests, mismatches = %d, %d, want >0, %d", res.requests, res.mismatches, want)
			}
			if res.errors != 0 {
				t.Errorf("errors = %d, want 0", res.errors)
			}
		})
	}
}

func TestRunLevelErrors(t *testing.T) {
	client := newTestClient(t, startServer(t, failServer{}))
	res, err := runLevel(t.Context(), client, testLevel(2, expectAny))
	if err != nil {
		t.Fatalf("runLevel() error = %v", err)
	}
	if res.requests == 0 || res.errors != res.requests {
		t.Errorf("requests, errors = %d, %d, want every request an error", res.requests, res.errors)
	}
	if got := res.errorCodes["Unavailable"]; got != res.requests {
		t.Errorf("errorCodes[Unavailable] = %d, want %d", got, res.requests)
	}
	if res.mismatches != 0 {
		t.Errorf("mismatches = %d, want 0 because errors are counted apart", res.mismatches)
	}
}

func TestRunLevelSendsFreshRequestIDs(t *testing.T) {
	srv := &recordServer{}
	client := newTestClient(t, startServer(t, srv))
	cfg := testLevel(1, expectOK)
	cfg.warmup = 0
	cfg.maxRequests = 3
	if _, err := runLevel(t.Context(), client, cfg); err != nil {
		t.Fatalf("runLevel() error = %v", err)
	}
	if len(srv.headers) != 3 {
		t.Fatalf("server saw %d Checks, want 3", len(srv.headers))
	}
	ids := map[string]bool{}
	for _, h := range srv.headers {
		ids[h["x-request-id"]] = true
		if got := h["authorization"]; got != "Bearer test-token" {
			t.Errorf("authorization = %q, want %q", got, "Bearer test-token")
		}
	}
	if len(ids) != 3 {
		t.Errorf("distinct x-request-id values = %d, want 3", len(ids))
	}
}

func TestRunLevelCanceled(t *testing.T) {
	client := newTestClient(t, startFloor(t))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	cfg := testLevel(2, expectOK)
	cfg.duration = 30 * time.Second
	_, err := runLevel(ctx, client, cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("runLevel() error = %v, want context.DeadlineExceeded", err)
	}
}

func TestRunCommandJSON(t *testing.T) {
	addr := startFloor(t)
	var out bytes.Buffer
	args := []string{"run", "-target", addr, "-token", "t0k", "-concurrency", "1,3",
		"-duration", "100ms", "-warmup", "0s", "-json", "-label", "floor"}
	if err := dispatch(t.Context(), args, &out); err != nil {
		t.Fatalf("run error = %v", err)
	}
	recs, err := decodeRecords(&out)
	if err != nil {
		t.Fatalf("decodeRecords() error = %v", err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	for i, want := range []int{1, 3} {
		rec := recs[i]
		if rec.Streams != want || rec.Label != "floor" || rec.Expect != "ok" || rec.Target != addr {
			t.Errorf("record %d = %+v, want streams %d, label floor, expect ok, target %s", i, rec, want, addr)
		}
		if rec.Requests == 0 || rec.Errors != 0 || rec.Mismatches != 0 || rec.Throughput <= 0 {
			t.Errorf("record %d = %+v, want successful requests and a throughput", i, rec)
		}
		if rec.P50Micros <= 0 || rec.P50Micros > rec.P99Micros || rec.P99Micros > rec.MaxMicros {
			t.Errorf("record %d latencies p50 %v, p99 %v, max %v, want 0 < p50 <= p99 <= max", i, rec.P50Micros, rec.P99Micros, rec.MaxMicros)
		}
	}
}

func TestRunCommandRejects(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantTarget bool // the error must be ErrNotLoopback
	}{
		{name: "remote target", args: []string{"-target", "10.0.0.1:9001", "-token", "t"}, wantTarget: true},
		{name: "host name target", args: []string{"-target", "example.com:9001", "-token", "t"}, wantTarget: true},
		{name: "no token", args: []string{}},
		{name: "both tokens", args: []string{"-token", "t", "-token-file", tokenFile}},
		{name: "zero duration", args: []string{"-token", "t", "-duration", "0s"}},
		{name: "too long", args: []string{"-token", "t", "-duration", "10m", "-warmup", "1s"}},
		{name: "zero requests max", args: []string{"-token", "t", "-requests-max", "0"}},
		{name: "bad expect", args: []string{"-token", "t", "-expect", "allow"}},
		{name: "bad level", args: []string{"-token", "t", "-concurrency", "0"}},
		{name: "token with space", args: []string{"-token", "a b"}},
		{name: "stray argument", args: []string{"-token", "t", "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dispatch(t.Context(), append([]string{"run"}, tt.args...), &bytes.Buffer{})
			if !errors.Is(err, errUsage) {
				t.Fatalf("run error = %v, want errUsage", err)
			}
			if tt.wantTarget && !errors.Is(err, ErrNotLoopback) {
				t.Errorf("run error = %v, want ErrNotLoopback", err)
			}
		})
	}
}

func TestLoadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr bool
	}{
		{name: "trailing newline", path: write("nl", "abc.def.ghi\n"), want: "abc.def.ghi"},
		{name: "surrounding space", path: write("sp", "  abc \r\n"), want: "abc"},
		{name: "empty", path: write("empty", "\n"), wantErr: true},
		{name: "two lines", path: write("two", "abc\ndef\n"), wantErr: true},
		{name: "too large", path: write("large", strings.Repeat("a", maxTokenBytes+1)), wantErr: true},
		{name: "missing", path: filepath.Join(dir, "missing"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runFlags{tokenFile: tt.path}.loadToken()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("loadToken() = %q, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadToken() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("loadToken() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadTokenErrorHidesToken(t *testing.T) {
	_, err := runFlags{token: "secret-part bad"}.loadToken()
	if err == nil {
		t.Fatal("loadToken() error = nil, want an error for a token with a space")
	}
	if strings.Contains(err.Error(), "secret-part") {
		t.Errorf("error %q contains the token", err)
	}
}
