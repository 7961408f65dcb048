package extauthz

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/revfeed"
)

// maxFeedRetryDelay bounds the back-off between feed connections. It is
// short because revocations issued while the feed is down reach this
// server only after it reconnects. One request every few seconds to an
// issuer that is down costs little.
const maxFeedRetryDelay = 2 * time.Second

// feedIdleTimeout is how long a feed may stay silent before the reader
// drops the connection: the issuer sends a heartbeat more often than this.
const feedIdleTimeout = 3 * revfeed.HeartbeatInterval

// errEpochChanged reports a feed whose cursors restarted, so the reader
// must ask again from the beginning.
var errEpochChanged = errors.New("revocation feed epoch changed")

// feedReader follows the revocation feed of one issuer and fills its deny
// list. While it cannot reach the feed, the deny list keeps what it has, so
// revocations already received stay enforced.
type feedReader struct {
	issuer string
	url    string
	client *http.Client
	deny   *denyList
	log    *slog.Logger
	now    func() time.Time
	up     prometheus.Gauge
	size   prometheus.Gauge

	// epoch and cursor set where the next request starts. Only run's
	// goroutine touches them.
	epoch     string
	cursor    uint64
	connected atomic.Bool
}

// run follows the feed until ctx ends, reconnecting with back-off.
func (f *feedReader) run(ctx context.Context) {
	retry := minRetryDelay
	for ctx.Err() == nil {
		err := f.follow(ctx)
		// A connection that got as far as the sync line was healthy, so
		// the next attempt starts the back-off again.
		if f.connected.Load() {
			retry = minRetryDelay
		}
		f.setConnected(false)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errEpochChanged) {
			f.log.LogAttrs(ctx, slog.LevelInfo, "revocation feed restarted, reading it again from the start", slog.String("issuer", f.issuer))
			continue
		}
		f.log.LogAttrs(ctx, slog.LevelWarn, "revocation feed disconnected, keeping the revocations received",
			slog.String("issuer", f.issuer), slog.Int("revocations", f.deny.size()), slog.String("retryIn", retry.String()), slog.Any("error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		retry = min(2*retry, maxFeedRetryDelay)
	}
}

// follow reads one feed response until it ends or fails.
func (f *feedReader) follow(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	epoch := resp.Header.Get(revfeed.EpochHeader)
	if f.cursor != 0 && epoch != f.epoch {
		f.epoch, f.cursor = "", 0
		return errEpochChanged
	}
	f.epoch = epoch
	idle := time.AfterFunc(feedIdleTimeout, cancel)
	defer idle.Stop()
	return f.readLines(ctx, bufio.NewScanner(resp.Body), idle)
}

func (f *feedReader) open(ctx context.Context) (*http.Response, error) {
	target, err := revfeed.URL(f.url, f.cursor)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("revocation feed request: %w", err)
	}
	req.Header.Set("Accept", revfeed.MediaType)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("revocation feed: %w", err)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mediaType != revfeed.MediaType {
		resp.Body.Close()
		return nil, fmt.Errorf("revocation feed: status %d, content type %q", resp.StatusCode, mediaType)
	}
	return resp, nil
}

// readLines applies the backlog at the sync line, replacing the list when
// the response started from cursor 0, then applies each entry as it comes.
func (f *feedReader) readLines(ctx context.Context, sc *bufio.Scanner, idle *time.Timer) error {
	sc.Buffer(make([]byte, 0, 512), revfeed.MaxLineBytes)
	replace, synced := f.cursor == 0, false
	var (
		backlog []revfeed.Line
		pending uint64 // the cursor the backlog reaches once applied
	)
	for sc.Scan() {
		idle.Reset(feedIdleTimeout)
		line, err := revfeed.ParseLine(sc.Bytes())
		if err != nil {
			return err
		}
		switch {
		case line.Type == revfeed.TypeHeartbeat:
		case line.Type == revfeed.TypeSync:
			f.apply(backlog, replace)
			f.cursor = max(f.cursor, pending)
			backlog, synced = nil, true
			f.setConnected(true)
		case !synced:
			// The cursor moves only once the backlog is applied, so a
			// connection lost before the sync line loses nothing.
			backlog = append(backlog, line)
			pending = max(pending, line.Cursor)
		default:
			f.apply([]revfeed.Line{line}, false)
			f.cursor = max(f.cursor, line.Cursor)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read revocation feed: %w", err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("revocation feed silent for %s", feedIdleTimeout)
	}
	return errors.New("revocation feed closed by the issuer")
}

func (f *feedReader) apply(entries []revfeed.Line, replace bool) {
	f.deny.apply(entries, replace, f.now().Unix())
	f.size.Set(float64(f.deny.size()))
}

func (f *feedReader) setConnected(up bool) {
	if f.connected.Swap(up) == up {
		return
	}
	if up {
		f.up.Set(1)
		f.log.LogAttrs(context.Background(), slog.LevelInfo, "revocation feed connected",
			slog.String("issuer", f.issuer), slog.Int("revocations", f.deny.size()))
		return
	}
	f.up.Set(0)
}
