package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMedianRatiosPairsRounds(t *testing.T) {
	records := []record{
		{Label: "floor", Streams: 64, Throughput: 100},
		{Label: "server", Streams: 64, Throughput: 90},
		{Label: "floor", Streams: 64, Throughput: 50}, // a slow round moves both
		{Label: "server", Streams: 64, Throughput: 46},
		{Label: "floor", Streams: 64, Throughput: 200},
		{Label: "server", Streams: 64, Throughput: 160},
		{Label: "server", Streams: 1, Throughput: 10}, // no reference at this level
	}
	got := medianRatios(records, "floor")
	want := []ratioRow{{label: "server", streams: 64, rounds: 3, medianRate: 90, medianRatio: 0.9}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(ratioRow{})); diff != "" {
		t.Errorf("medianRatios mismatch (-want +got):\n%s", diff)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   float64
	}{
		{name: "empty", values: nil, want: 0},
		{name: "odd count", values: []float64{3, 1, 2}, want: 2},
		{name: "even count", values: []float64{4, 1, 3, 2}, want: 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.values); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.values, got, tt.want)
			}
		})
	}
}
