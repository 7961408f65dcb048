package extauthz

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// throughputEnv enables TestThroughputRatio, which takes about 10 s and
// needs a quiet machine to mean anything.
const throughputEnv = "GATEHOUSE_THROUGHPUT"

// minThroughputRatio is the share of the floor's Check throughput that the
// server must reach with a cached token and its codec.
const minThroughputRatio = 0.9

// throughputTarget is one gRPC server under measurement.
type throughputTarget struct {
	name   string
	client authv3.AuthorizationClient
	calls  int64
	cpu    time.Duration
}

// TestThroughputRatio measures Check throughput at throughputStreams
// concurrent calls on one connection against the always-allow floor
// server. The servers take turns in short rounds, so that a change in
// machine load affects all of them alike.
func TestThroughputRatio(t *testing.T) {
	if os.Getenv(throughputEnv) == "" {
		t.Skipf("set %s=1 to measure throughput against the gRPC floor", throughputEnv)
	}
	env := newTestEnv(t, nil)
	req := envoyRequest(env.token(t, nil))
	targets := []*throughputTarget{
		{name: "floor", client: serveForThroughput(t, func(g grpc.ServiceRegistrar) {
			authv3.RegisterAuthorizationServer(g, floorServer{})
		})},
		{name: "gatehouse", client: serveForThroughput(t, env.s.Register)},
		{name: "gatehouse-codec", client: serveForThroughput(t, env.s.Register, grpc.ForceServerCodecV2(Codec()))},
	}
	for _, tg := range targets {
		callFor(tg.client, req, 200*time.Millisecond) // warm up
	}
	for range 12 {
		for _, tg := range targets {
			start := processCPUTime(t)
			tg.calls += callFor(tg.client, req, 250*time.Millisecond)
			tg.cpu += processCPUTime(t) - start
		}
	}

	floor := targets[0]
	for _, tg := range targets {
		t.Logf("%-16s %7d calls  %6.1f µs CPU/call  throughput ratio %.3f",
			tg.name, tg.calls, float64(tg.cpu.Microseconds())/float64(tg.calls), float64(tg.calls)/float64(floor.calls))
	}
	if got := float64(targets[2].calls) / float64(floor.calls); got < minThroughputRatio {
		t.Errorf("got throughput ratio %.3f with the codec, want at least %.2f", got, minThroughputRatio)
	}
}

func serveForThroughput(t *testing.T, register func(grpc.ServiceRegistrar), opts ...grpc.ServerOption) authv3.AuthorizationClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	g := grpc.NewServer(opts...)
	register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// callFor sends Checks from throughputStreams goroutines for d and returns
// the number of calls that succeeded.
func callFor(client authv3.AuthorizationClient, req *authv3.CheckRequest, d time.Duration) int64 {
	var calls atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range throughputStreams {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := client.Check(context.Background(), req); err == nil {
					calls.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return calls.Load()
}
