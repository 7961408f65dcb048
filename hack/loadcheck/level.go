package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/status"
)

// levelConfig describes one concurrency level of a run.
type levelConfig struct {
	streams     int           // goroutines, each with one Check in flight
	warmup      time.Duration // load before measuring, not counted
	duration    time.Duration // measured load
	maxRequests uint64        // stop measuring after this many Checks
	timeout     time.Duration // deadline of each Check
	expect      expectation
	shape       requestShape
}

// levelResult is the measurement of one concurrency level.
type levelResult struct {
	streams    int
	requests   uint64 // measured Checks, including errors and mismatches
	errors     uint64 // Checks whose RPC failed
	mismatches uint64 // Checks whose outcome does not match -expect
	errorCodes map[string]uint64
	elapsed    time.Duration // from the end of the warm-up until the last Check returned
	latency    *histogram
}

// runLevel loads client with cfg.streams concurrent Checks, first for the
// warm-up and then for the measured duration or until cfg.maxRequests Checks
// have started, whichever comes first. It returns ctx's error if ctx ends
// before the level does.
func runLevel(ctx context.Context, client authv3.AuthorizationClient, cfg levelConfig) (levelResult, error) {
	start := time.Now()
	phase := phases{measureFrom: start.Add(cfg.warmup), stopAt: start.Add(cfg.warmup + cfg.duration)}
	budget := &requestBudget{limit: cfg.maxRequests}

	workers := make([]*worker, cfg.streams)
	var warned atomic.Bool
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = newWorker(client, cfg, &warned)
		wg.Go(func() { workers[i].run(ctx, phase, budget) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return levelResult{}, err
	}
	return mergeWorkers(cfg.streams, workers, time.Since(phase.measureFrom)), nil
}

// phases are the wall-clock bounds of a level.
type phases struct {
	measureFrom time.Time // Checks started from here on are measured
	stopAt      time.Time // no Check starts after this
}

// requestBudget caps the measured Checks of a level across all workers.
type requestBudget struct {
	limit    uint64
	reserved atomic.Uint64
}

// Take reserves one Check and reports whether the budget allowed it.
func (b *requestBudget) Take() bool { return b.reserved.Add(1) <= b.limit }

// worker issues Checks in a loop on one stream and keeps its own counts, so
// the workers share nothing but the budget while the level runs.
type worker struct {
	client  authv3.AuthorizationClient
	req     *authv3.CheckRequest
	ids     *requestIDs
	timeout time.Duration
	expect  expectation

	latency    histogram
	requests   uint64
	errors     uint64
	mismatches uint64
	errorCodes map[string]uint64
	warned     *atomic.Bool // shared by the workers of a level: a failure was logged
}

func newWorker(client authv3.AuthorizationClient, cfg levelConfig, warned *atomic.Bool) *worker {
	return &worker{
		client:     client,
		req:        newCheckRequest(cfg.shape),
		ids:        newRequestIDs(),
		timeout:    cfg.timeout,
		expect:     cfg.expect,
		errorCodes: map[string]uint64{},
		warned:     warned,
	}
}

func (w *worker) run(ctx context.Context, phase phases, budget *requestBudget) {
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(phase.stopAt) {
			return
		}
		measured := !now.Before(phase.measureFrom)
		if measured && !budget.Take() {
			return
		}
		resp, elapsed, err := w.check(ctx)
		if measured && ctx.Err() == nil {
			w.record(resp, err, elapsed)
		}
	}
}

// check sends one Check with a fresh request id and returns its latency.
func (w *worker) check(ctx context.Context) (*authv3.CheckResponse, time.Duration, error) {
	setRequestID(w.req, w.ids.Next())
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()

	start := time.Now()
	resp, err := w.client.Check(callCtx, w.req)
	elapsed := time.Since(start)
	return resp, elapsed, err
}

func (w *worker) record(resp *authv3.CheckResponse, err error, elapsed time.Duration) {
	w.requests++
	w.latency.Record(elapsed)
	got := classify(resp, err)
	if got == outcomeError {
		w.errors++
		w.errorCodes[status.Code(err).String()]++
		w.logOnce("check failed", "error", err)
		return
	}
	if !w.expect.Matches(got) {
		w.mismatches++
		w.logOnce("check result does not match -expect", "got", describeResponse(resp), "want", string(w.expect))
	}
}

// logOnce logs the first failed Check of a level, so a level in which
// every Check fails logs one line, not one per Check.
func (w *worker) logOnce(msg string, args ...any) {
	if w.warned.Load() || !w.warned.CompareAndSwap(false, true) {
		return
	}
	slog.Warn(msg, args...)
}

func mergeWorkers(streams int, workers []*worker, elapsed time.Duration) levelResult {
	res := levelResult{streams: streams, elapsed: elapsed, latency: &histogram{}, errorCodes: map[string]uint64{}}
	for _, w := range workers {
		res.requests += w.requests
		res.errors += w.errors
		res.mismatches += w.mismatches
		res.latency.Merge(&w.latency)
		for code, n := range w.errorCodes {
			res.errorCodes[code] += n
		}
	}
	return res
}
