package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHistogramSmallValuesExact(t *testing.T) {
	var h histogram
	for v := 100; v >= 1; v-- {
		h.Record(time.Duration(v))
	}
	tests := []struct {
		name string
		p    float64
		want time.Duration
	}{
		{name: "p0 is min", p: 0, want: 1},
		{name: "p1", p: 1, want: 1},
		{name: "p50", p: 50, want: 50},
		{name: "p90", p: 90, want: 90},
		{name: "p99", p: 99, want: 99},
		{name: "p99.5 rounds up", p: 99.5, want: 100},
		{name: "p100 is max", p: 100, want: 100},
		{name: "above 100 is max", p: 150, want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.Percentile(tt.p); got != tt.want {
				t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if got := h.Count(); got != 100 {
		t.Errorf("Count() = %d, want 100", got)
	}
	if got := h.Max(); got != 100 {
		t.Errorf("Max() = %v, want 100ns", got)
	}
}

func TestHistogramLargeValuesWithinError(t *testing.T) {
	var h histogram
	for v := 1; v <= 10000; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	tests := []struct {
		name string
		p    float64
		want time.Duration // the exact percentile of the recorded data
	}{
		{name: "p50", p: 50, want: 5000 * time.Microsecond},
		{name: "p90", p: 90, want: 9000 * time.Microsecond},
		{name: "p99", p: 99, want: 9900 * time.Microsecond},
		{name: "p99.9", p: 99.9, want: 9990 * time.Microsecond},
		{name: "p100", p: 100, want: 10000 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h.Percentile(tt.p)
			if got < tt.want || got > tt.want+tt.want/64 {
				t.Errorf("Percentile(%v) = %v, want %v to %v", tt.p, got, tt.want, tt.want+tt.want/64)
			}
		})
	}
}

func TestHistogramSkewedData(t *testing.T) {
	// 980 fast samples and 20 slow ones: p90 must stay fast and p99 slow.
	var h histogram
	for range 980 {
		h.Record(50 * time.Microsecond)
	}
	for range 20 {
		h.Record(20 * time.Millisecond)
	}
	p90, p99 := h.Percentile(90), h.Percentile(99)
	if p90 < 50*time.Microsecond || p90 > 51*time.Microsecond {
		t.Errorf("Percentile(90) = %v, want about 50µs", p90)
	}
	if p99 != 20*time.Millisecond {
		t.Errorf("Percentile(99) = %v, want 20ms (capped at max)", p99)
	}
}

func TestHistogramRankRounding(t *testing.T) {
	// 99.9 % of 41000 is exactly 40959, but the float product lands just
	// above it. Without care the rank would move to the 40960th sample.
	var h histogram
	for range 40959 {
		h.Record(10)
	}
	for range 41 {
		h.Record(100)
	}
	if got := h.Percentile(99.9); got != 10 {
		t.Errorf("Percentile(99.9) = %v, want 10ns, the 40959th sample", got)
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h histogram
	for _, p := range []float64{0, 50, 100} {
		if got := h.Percentile(p); got != 0 {
			t.Errorf("empty Percentile(%v) = %v, want 0", p, got)
		}
	}
	if got := h.Count(); got != 0 {
		t.Errorf("empty Count() = %d, want 0", got)
	}
}

func TestHistogramNegativeAndOverflow(t *testing.T) {
	var h histogram
	h.Record(-5)
	h.Record(2 * time.Minute)
	if got := h.Percentile(0); got != 0 {
		t.Errorf("Percentile(0) = %v, want 0 for a negative sample", got)
	}
	if got := h.Max(); got != 2*time.Minute {
		t.Errorf("Max() = %v, want 2m0s", got)
	}
	if got := h.Percentile(100); got != maxTrackable {
		t.Errorf("Percentile(100) = %v, want the last bucket bound %v", got, time.Duration(maxTrackable))
	}
}

func TestHistogramMerge(t *testing.T) {
	var whole, even, odd histogram
	for v := 1; v <= 5000; v++ {
		d := time.Duration(v*37) * time.Nanosecond
		whole.Record(d)
		if v%2 == 0 {
			even.Record(d)
			continue
		}
		odd.Record(d)
	}
	var merged histogram
	merged.Merge(&even)
	merged.Merge(&histogram{})
	merged.Merge(&odd)
	if diff := cmp.Diff(summarize(&whole), summarize(&merged)); diff != "" {
		t.Errorf("merged histogram differs from the whole (-whole +merged):\n%s", diff)
	}
}

// summarize returns the figures a report prints from h.
func summarize(h *histogram) []time.Duration {
	return []time.Duration{
		time.Duration(h.Count()), h.Percentile(0), h.Percentile(50),
		h.Percentile(90), h.Percentile(99), h.Max(),
	}
}

func TestBucketsContiguous(t *testing.T) {
	for i := range bucketCount - 1 {
		next := bucketUpper(i) + 1
		if got := bucketIndex(next); got != i+1 {
			t.Fatalf("bucketIndex(bucketUpper(%d)+1 = %d) = %d, want %d", i, next, got, i+1)
		}
	}
	if got := bucketUpper(bucketCount - 1); got != maxTrackable {
		t.Errorf("last bucket upper bound = %d, want %d", got, uint64(maxTrackable))
	}
}

func TestBucketRelativeError(t *testing.T) {
	for v := uint64(1); v < maxTrackable; v = v*3/2 + 1 {
		upper := bucketUpper(bucketIndex(v))
		if upper < v {
			t.Fatalf("bucket upper bound %d below value %d", upper, v)
		}
		if upper-v > v/64 {
			t.Fatalf("bucket upper bound %d is more than 1/64 above value %d", upper, v)
		}
	}
}
