package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// reportCommand implements "loadcheck report": it reads the JSON lines that
// "run -json" wrote, in the order of the files given, and prints them as one
// table. A warning line follows the table if any level had errors or
// mismatches, because its throughput then does not measure successful Checks.
func reportCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	markdown := fs.Bool("markdown", false, "print a markdown table instead of plain text")
	ratioTo := fs.String("ratio-to", "", "label of the reference server: also print each other server's median throughput and median per-round ratio to it")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: loadcheck report [-markdown] [-ratio-to LABEL] FILE...")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("report: missing FILE: %w", errUsage)
	}

	var records []record
	for _, path := range fs.Args() {
		recs, err := readRecordFile(path)
		if err != nil {
			return err
		}
		records = append(records, recs...)
	}
	if err := writeReport(stdout, records, *markdown); err != nil {
		return err
	}
	if *ratioTo == "" {
		return nil
	}
	return writeRatios(stdout, *ratioTo, medianRatios(records, *ratioTo))
}

func writeReport(out io.Writer, records []record, markdown bool) error {
	w := &recordWriter{out: out, format: formatText}
	if markdown {
		w.format = formatMarkdown
	}
	var failed uint64
	for _, rec := range records {
		if err := w.Write(rec); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		failed += rec.Errors + rec.Mismatches
	}
	if failed > 0 {
		_, err := fmt.Fprintf(out, "\nWARNING: %d Checks failed or did not match -expect. See the errors and mismatches columns.\n", failed)
		return err
	}
	return nil
}

func readRecordFile(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	defer f.Close()
	recs, err := decodeRecords(f)
	if err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	return recs, nil
}

// decodeRecords reads a stream of JSON record objects, one after another.
func decodeRecords(r io.Reader) ([]record, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var recs []record
	for {
		var rec record
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode record %d: %w", len(recs)+1, err)
		}
		recs = append(recs, rec)
	}
}
