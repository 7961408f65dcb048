package kube

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
)

// benchClients is how many OAuthClients BenchmarkApplyOAuthClients applies.
const benchClients = 1000

// BenchmarkApplyOAuthClients applies benchClients OAuthClients at once to
// the test API server, with the controller and the issuer running as
// processes, and reports the seconds until every resource is Ready and
// until the issuer has loaded every client. Run it once per figure:
//
//	go test ./test/kube -run '^$' -bench ApplyOAuthClients -benchtime 1x
func BenchmarkApplyOAuthClients(b *testing.B) {
	c := startCluster(b)
	s := startStack(b, c, slowKeys)
	creator := c.fastClient(b)
	known := 0
	for i := 0; b.Loop(); i++ {
		namespace := fmt.Sprintf("bench-%d", i)
		c.createNamespace(b, namespace)
		start := time.Now()
		applyClients(b, creator, namespace, benchClients)
		applied := time.Since(start)
		known += benchClients
		ready, issuerKnows := waitAll(b, c.admin, namespace, benchClients, s.issuerAdmin, known, start)
		b.ReportMetric(applied.Seconds(), "s-applied")
		b.ReportMetric(ready.Seconds(), "s-all-ready")
		b.ReportMetric(issuerKnows.Seconds(), "s-issuer-knows-all")
	}
}

// fastClient returns an admin client without client-side rate limits, so
// that the benchmark measures Gatehouse and not its own throttling.
func (c *cluster) fastClient(tb testing.TB) client.Client {
	tb.Helper()
	cfg := *c.env.Config
	cfg.QPS, cfg.Burst = 1000, 2000
	cl, err := client.New(&cfg, client.Options{Scheme: c.scheme})
	if err != nil {
		tb.Fatal(err)
	}
	return cl
}

// applyClients creates n OAuthClients in namespace from 16 goroutines.
func applyClients(tb testing.TB, cl client.Client, namespace string, n int) {
	tb.Helper()
	const workers = 16
	names := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range names {
				if err := cl.Create(tb.Context(), newServiceClient(namespace, fmt.Sprintf("client-%04d", i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range n {
		names <- i
	}
	close(names)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("create OAuthClient: %v", err)
	}
}

// waitAll polls every 100 ms until n OAuthClients in namespace are Ready
// and the issuer's gatehouse_issuer_registered_clients gauge reaches known,
// and returns the time from start to each.
func waitAll(tb testing.TB, cl client.Client, namespace string, n int, issuerAdmin string, known int, start time.Time) (ready, issuerKnows time.Duration) {
	tb.Helper()
	deadline := start.Add(10 * time.Minute)
	for ready == 0 || issuerKnows == 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("after 10 minutes: Ready after %s, issuer knows all after %s (0 is not yet)", ready, issuerKnows)
		}
		if ready == 0 && countReady(tb, cl, namespace) >= n {
			ready = time.Since(start)
		}
		if issuerKnows == 0 {
			got, err := metricValue(tb.Context(), "http://"+issuerAdmin+"/metrics", "gatehouse_issuer_registered_clients")
			if err == nil && int(got) >= known {
				issuerKnows = time.Since(start)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ready, issuerKnows
}

// countReady returns how many OAuthClients in namespace are Ready.
func countReady(tb testing.TB, cl client.Client, namespace string) int {
	tb.Helper()
	var list v1alpha1.OAuthClientList
	if err := cl.List(tb.Context(), &list, client.InNamespace(namespace)); err != nil {
		tb.Fatalf("list OAuthClients: %v", err)
	}
	ready := 0
	for i := range list.Items {
		if apimeta.IsStatusConditionTrue(list.Items[i].Status.Conditions, v1alpha1.ConditionReady) {
			ready++
		}
	}
	return ready
}

// metricValue reads one unlabelled sample from a Prometheus text endpoint.
func metricValue(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		value, ok := strings.CutPrefix(sc.Text(), name+" ")
		if ok {
			return strconv.ParseFloat(strings.TrimSpace(value), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no sample %s", url, name)
}
