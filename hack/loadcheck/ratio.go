package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
)

// ratioRow is the throughput of one server at one level relative to the
// reference server, as the median over rounds.
type ratioRow struct {
	label       string
	streams     int
	rounds      int
	medianRate  float64 // requests per second
	medianRatio float64 // rate / reference rate of the same round
}

// levelKey names a server at one concurrency level.
type levelKey struct {
	label   string
	streams int
}

// medianRatios pairs the n-th record of each server and level with the n-th
// record of reference at that level (the n-th round), and returns the median
// throughput and the median per-round ratio. Pairing by round cancels most
// of the drift of a shared machine, which moves both servers of a round.
func medianRatios(records []record, reference string) []ratioRow {
	rates := map[levelKey][]float64{}
	var order []levelKey
	for _, rec := range records {
		k := levelKey{rec.Label, rec.Streams}
		if _, seen := rates[k]; !seen {
			order = append(order, k)
		}
		rates[k] = append(rates[k], rec.Throughput)
	}
	var rows []ratioRow
	for _, k := range order {
		ref := rates[levelKey{reference, k.streams}]
		if k.label == reference || len(ref) == 0 {
			continue
		}
		own := rates[k]
		n := min(len(own), len(ref))
		ratios := make([]float64, n)
		for i := range n {
			if ref[i] > 0 {
				ratios[i] = own[i] / ref[i]
			}
		}
		rows = append(rows, ratioRow{label: k.label, streams: k.streams, rounds: n, medianRate: median(own), medianRatio: median(ratios)})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].label < rows[j].label })
	return rows
}

// median returns the middle value of values, or the mean of the two middle
// values for an even count, and 0 for none.
func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

// writeRatios prints the rows as a markdown table.
func writeRatios(out io.Writer, reference string, rows []ratioRow) error {
	if _, err := fmt.Fprintf(out, "\n| server | streams | rounds | median req/s | median ratio to %s |\n| --- | ---: | ---: | ---: | ---: |\n", reference); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(out, "| %s | %d | %d | %.0f | %.2f |\n", r.label, r.streams, r.rounds, r.medianRate, r.medianRatio); err != nil {
			return err
		}
	}
	return nil
}
