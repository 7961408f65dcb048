package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// record is one concurrency level as run -json writes it and report reads
// it back: one JSON object per line. Latencies are in microseconds.
type record struct {
	Label          string            `json:"label"`
	Target         string            `json:"target"`
	Expect         string            `json:"expect"`
	Streams        int               `json:"streams"`
	Requests       uint64            `json:"requests"`
	Errors         uint64            `json:"errors"`
	Mismatches     uint64            `json:"mismatches"`
	ErrorCodes     map[string]uint64 `json:"errorCodes,omitempty"`
	ElapsedSeconds float64           `json:"elapsedSeconds"`
	Throughput     float64           `json:"requestsPerSecond"`
	P50Micros      float64           `json:"p50Micros"`
	P90Micros      float64           `json:"p90Micros"`
	P99Micros      float64           `json:"p99Micros"`
	MaxMicros      float64           `json:"maxMicros"`
}

// newRecord summarizes a level result.
func newRecord(label, target string, expect expectation, res levelResult) record {
	rec := record{
		Label:          label,
		Target:         target,
		Expect:         string(expect),
		Streams:        res.streams,
		Requests:       res.requests,
		Errors:         res.errors,
		Mismatches:     res.mismatches,
		ElapsedSeconds: res.elapsed.Seconds(),
		P50Micros:      micros(res.latency.Percentile(50)),
		P90Micros:      micros(res.latency.Percentile(90)),
		P99Micros:      micros(res.latency.Percentile(99)),
		MaxMicros:      micros(res.latency.Max()),
	}
	if len(res.errorCodes) > 0 {
		rec.ErrorCodes = res.errorCodes
	}
	if res.elapsed > 0 {
		rec.Throughput = float64(res.requests) / res.elapsed.Seconds()
	}
	return rec
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// tableFormat selects how a recordWriter prints.
type tableFormat int

const (
	formatText tableFormat = iota
	formatMarkdown
	formatJSON
)

// recordWriter prints records one at a time as they arrive, with a header
// before the first row in the table formats.
type recordWriter struct {
	out     io.Writer
	format  tableFormat
	started bool
}

// Write prints one record.
func (w *recordWriter) Write(rec record) error {
	if w.format == formatJSON {
		line, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
		_, err = fmt.Fprintf(w.out, "%s\n", line)
		return err
	}
	if !w.started {
		w.started = true
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	return w.writeRow(rec)
}

func (w *recordWriter) writeHeader() error {
	if w.format == formatMarkdown {
		_, err := fmt.Fprint(w.out,
			"| server | streams | requests | errors | mismatches | req/s | p50 µs | p90 µs | p99 µs | max µs |\n"+
				"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		return err
	}
	_, err := fmt.Fprintf(w.out, "%-16s %7s %10s %8s %10s %10s %9s %9s %9s %9s\n",
		"server", "streams", "requests", "errors", "mismatches", "req/s", "p50 µs", "p90 µs", "p99 µs", "max µs")
	return err
}

func (w *recordWriter) writeRow(rec record) error {
	if w.format == formatMarkdown {
		_, err := fmt.Fprintf(w.out, "| %s | %d | %d | %d | %d | %.0f | %.1f | %.1f | %.1f | %.1f |\n",
			rec.Label, rec.Streams, rec.Requests, rec.Errors, rec.Mismatches,
			rec.Throughput, rec.P50Micros, rec.P90Micros, rec.P99Micros, rec.MaxMicros)
		return err
	}
	_, err := fmt.Fprintf(w.out, "%-16s %7d %10d %8d %10d %10.0f %9.1f %9.1f %9.1f %9.1f\n",
		rec.Label, rec.Streams, rec.Requests, rec.Errors, rec.Mismatches,
		rec.Throughput, rec.P50Micros, rec.P90Micros, rec.P99Micros, rec.MaxMicros)
	return err
}
