package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sampleResult is a level whose figures are easy to check by hand: 2000
// Checks in 2 s, latencies 1 µs to 100 µs.
func sampleResult() levelResult {
	h := &histogram{}
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	return levelResult{
		streams:    8,
		requests:   2000,
		errors:     3,
		mismatches: 2,
		errorCodes: map[string]uint64{"Unavailable": 3},
		elapsed:    2 * time.Second,
		latency:    h,
	}
}

func TestNewRecord(t *testing.T) {
	got := newRecord("floor", "127.0.0.1:9101", expectOK, sampleResult())
	want := record{
		Label:          "floor",
		Target:         "127.0.0.1:9101",
		Expect:         "ok",
		Streams:        8,
		Requests:       2000,
		Errors:         3,
		Mismatches:     2,
		ErrorCodes:     map[string]uint64{"Unavailable": 3},
		ElapsedSeconds: 2,
		Throughput:     1000,
		P50Micros:      50,
		P90Micros:      90,
		P99Micros:      99,
		MaxMicros:      100,
	}
	// Bucket bounds above 128 ns may over-report by up to 1/64.
	opt := cmpApprox(1.0 / 64)
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("newRecord() mismatch (-want +got):\n%s", diff)
	}
}

func cmpApprox(fraction float64) cmp.Option {
	return cmp.Comparer(func(a, b float64) bool {
		return a == b || (b >= a && b <= a*(1+fraction)) || (a >= b && a <= b*(1+fraction))
	})
}

func TestReportRoundTrip(t *testing.T) {
	recs := []record{
		newRecord("floor", "127.0.0.1:9101", expectOK, sampleResult()),
		newRecord("gatehouse", "127.0.0.1:9001", expectDenied, sampleResult()),
	}
	var buf bytes.Buffer
	w := &recordWriter{out: &buf, format: formatJSON}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatalf("Write() error = %v", err)
		}
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 2 {
		t.Errorf("JSON output has %d lines, want 2", lines)
	}
	got, err := decodeRecords(&buf)
	if err != nil {
		t.Fatalf("decodeRecords() error = %v", err)
	}
	if diff := cmp.Diff(recs, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeRecordsRejectsUnknownField(t *testing.T) {
	if _, err := decodeRecords(strings.NewReader(`{"label":"x","rps":3}`)); err == nil {
		t.Error("decodeRecords() error = nil, want an error for an unknown field")
	}
}

func TestWriteReportMarkdown(t *testing.T) {
	rec := record{Label: "floor", Streams: 64, Requests: 1234567, Throughput: 41152.23,
		P50Micros: 1234.56, P90Micros: 2000, P99Micros: 3000.04, MaxMicros: 9000}
	var buf bytes.Buffer
	if err := writeReport(&buf, []record{rec}, true); err != nil {
		t.Fatalf("writeReport() error = %v", err)
	}
	want := "| server | streams | requests | errors | mismatches | req/s | p50 µs | p90 µs | p99 µs | max µs |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
		"| floor | 64 | 1234567 | 0 | 0 | 41152 | 1234.6 | 2000.0 | 3000.0 | 9000.0 |\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("markdown mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteReportWarnsOnFailures(t *testing.T) {
	tests := []struct {
		name     string
		rec      record
		wantWarn bool
	}{
		{name: "clean", rec: record{Label: "a", Requests: 10}, wantWarn: false},
		{name: "errors", rec: record{Label: "a", Requests: 10, Errors: 1}, wantWarn: true},
		{name: "mismatches", rec: record{Label: "a", Requests: 10, Mismatches: 10}, wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeReport(&buf, []record{tt.rec}, false); err != nil {
				t.Fatalf("writeReport() error = %v", err)
			}
			if got := strings.Contains(buf.String(), "WARNING"); got != tt.wantWarn {
				t.Errorf("warning printed = %t, want %t; output:\n%s", got, tt.wantWarn, buf.String())
			}
		})
	}
}
