package extauthz

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"syscall"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// envoyRequest builds a CheckRequest with the attributes a sidecar Envoy
// sends for a plain GET: peers, time, and the usual request headers.
func envoyRequest(token string) *authv3.CheckRequest {
	req := checkRequest("GET", "api.example.com", "/v1/items?page=2", map[string]string{
		"authorization":     "Bearer " + token,
		"x-forwarded-proto": "http",
		"x-request-id":      "6b1c1f0e-8a4e-4c1e-9d43-1f3f9b2f0c11",
	})
	peer := func(port uint32) *authv3.AttributeContext_Peer {
		return &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}},
		}}}
	}
	req.Attributes.Source = peer(51234)
	req.Attributes.Destination = peer(8080)
	req.Attributes.Request.Time = timestamppb.Now()
	return req
}

func BenchmarkCheck(b *testing.B) {
	b.Run("cached", func(b *testing.B) {
		env := newTestEnv(b, nil)
		req := envoyRequest(env.token(b, nil))
		benchmarkCheck(b, env.s, req)
	})
	for _, alg := range []jose.Algorithm{jose.ES256, jose.RS256, jose.EdDSA} {
		b.Run("first-seen/"+string(alg), func(b *testing.B) {
			env := newTestEnv(b, func(c *Config) { c.CacheSize = -1 })
			token := signToken(b, testKey(alg, 0), testClaims(env.issuer.url, env.clock.Now()), nil)
			benchmarkCheck(b, env.s, envoyRequest(token))
		})
	}
}

func benchmarkCheck(b *testing.B, s *Server, req *authv3.CheckRequest) {
	ctx := context.Background()
	if resp, _ := s.Check(ctx, req); resp.GetOkResponse() == nil {
		b.Fatalf("benchmark request was denied: %v", resp)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Check(ctx, req)
	}
}

// discardWriter is a ResponseWriter that keeps headers and drops the body,
// so the benchmark measures the handler and not a recorder.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

func BenchmarkHTTPHandler(b *testing.B) {
	b.Run("cached", func(b *testing.B) {
		env := newTestEnv(b, nil)
		req := httptest.NewRequest("GET", "/auth", nil)
		req.Header.Set("Authorization", "Bearer "+env.token(b, nil))
		req.Header.Set("X-Original-URI", "/v1/items?page=2")
		req.Header.Set("X-Original-Method", "GET")
		h := env.s.HTTPHandler()
		w := &discardWriter{header: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("benchmark request got status %d, want 200", w.status)
		}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.header)
			h.ServeHTTP(w, req)
		}
	})
}

// floorServer allows every Check without reading it: the cost of the gRPC
// transport alone.
type floorServer struct {
	authv3.UnimplementedAuthorizationServer
}

var floorResponse = &authv3.CheckResponse{Status: &status.Status{}}

func (floorServer) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return floorResponse, nil
}

// throughputStreams is the number of concurrent Check calls, as from one busy
// Envoy sidecar.
const throughputStreams = 64

// BenchmarkThroughput compares Check over loopback gRPC with a cached token
// against the floor server, both at throughputStreams concurrent calls on one
// client connection. Compare ns/op of the sub-benchmarks: the ratio
// floor/gatehouse is the share of the transport floor reached.
func BenchmarkThroughput(b *testing.B) {
	env := newTestEnv(b, nil)
	req := envoyRequest(env.token(b, nil))
	b.Run("floor", func(b *testing.B) {
		benchmarkThroughput(b, req, func(g grpc.ServiceRegistrar) { authv3.RegisterAuthorizationServer(g, floorServer{}) })
	})
	b.Run("gatehouse", func(b *testing.B) {
		benchmarkThroughput(b, req, env.s.Register)
	})
	b.Run("gatehouse-codec", func(b *testing.B) {
		benchmarkThroughput(b, req, env.s.Register, grpc.ForceServerCodecV2(Codec()))
	})
}

func benchmarkThroughput(b *testing.B, req *authv3.CheckRequest, register func(grpc.ServiceRegistrar), opts ...grpc.ServerOption) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	g := grpc.NewServer(opts...)
	register(g)
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	client := authv3.NewAuthorizationClient(conn)
	if resp, err := client.Check(context.Background(), req); err != nil || resp.GetStatus().GetCode() != 0 {
		b.Fatalf("warm-up Check: %v %v", resp, err)
	}

	b.SetParallelism((throughputStreams + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	startCPU := processCPUTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.Check(context.Background(), req); err != nil {
				b.Errorf("Check: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	// CPU time per call (client and server, both in this process) is
	// steadier than wall time on a shared machine, and at saturation
	// throughput is inversely proportional to it.
	b.ReportMetric(float64(processCPUTime(b)-startCPU)/float64(b.N), "cpu-ns/op")
}

// processCPUTime returns the user and system CPU time of this process.
func processCPUTime(b testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
