package filewatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// MaxFileSize is the largest file that Watch reads. A client or user file
// with thousands of entries stays well below it.
const MaxFileSize = 4 << 20

// ErrTooLarge reports a file larger than MaxFileSize.
var ErrTooLarge = errors.New("file too large")

// ParseFunc turns the content of a file into a value. It returns an error
// for content that must not replace the last good value.
type ParseFunc[T any] func(data []byte) (T, error)

// Value is the current parsed content of a watched file. It is safe for
// concurrent use.
type Value[T any] struct {
	current atomic.Pointer[T]
}

// Load returns the value parsed from the last valid content.
func (v *Value[T]) Load() T {
	return *v.current.Load()
}

// Watch reads and parses the file at path, then re-reads it every interval
// until ctx is done. Changed content that parses replaces the value
// atomically. Content that fails to read or parse leaves the last good value
// in place and is logged once per distinct failure.
//
// The first read must succeed, otherwise Watch returns its error and starts
// nothing.
func Watch[T any](ctx context.Context, path string, interval time.Duration, logger *slog.Logger, parse ParseFunc[T]) (*Value[T], error) {
	if interval <= 0 {
		return nil, fmt.Errorf("watch %s: poll interval %v must be positive", path, interval)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	parsed, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	v := &Value[T]{}
	v.current.Store(&parsed)
	p := &poller[T]{path: path, logger: logger, parse: parse, value: v, lastSum: sha256.Sum256(data)}
	go p.run(ctx, interval)
	return v, nil
}

// poller holds the state of one watch loop. Only its goroutine touches it.
type poller[T any] struct {
	path    string
	logger  *slog.Logger
	parse   ParseFunc[T]
	value   *Value[T]
	lastSum [sha256.Size]byte
	lastErr string
}

func (p *poller[T]) run(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			p.poll()
		}
	}
}

func (p *poller[T]) poll() {
	data, err := readFile(p.path)
	if err != nil {
		p.fail(err)
		return
	}
	sum := sha256.Sum256(data)
	if sum == p.lastSum {
		return
	}
	parsed, err := p.parse(data)
	if err != nil {
		p.fail(err)
		return
	}
	p.value.current.Store(&parsed)
	p.lastSum = sum
	p.lastErr = ""
	p.logger.Info("configuration file reloaded", "path", p.path)
}

// fail logs err unless it repeats the previous failure, so that a broken
// file produces one log line per change rather than one per poll.
func (p *poller[T]) fail(err error) {
	if err.Error() == p.lastErr {
		return
	}
	p.lastErr = err.Error()
	p.logger.Error("configuration file reload failed, keeping the last good content", "path", p.path, "error", err)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration file: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n > MaxFileSize {
		return nil, fmt.Errorf("read %s: %w: more than %d bytes", path, ErrTooLarge, MaxFileSize)
	}
	return buf.Bytes(), nil
}
