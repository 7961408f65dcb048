package issuer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/revfeed"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// Timings of the revocation feed.
const (
	// feedPollInterval is how often an open feed reads new revocations
	// from the store. It bounds the delay from a revocation to ext_authz.
	feedPollInterval = 200 * time.Millisecond
	// feedBatch is the most revocations read from the store at once.
	feedBatch = 500
	// feedWriteTimeout bounds each write, so a reader that stopped reading
	// cannot hold a connection forever.
	feedWriteTimeout = 10 * time.Second
)

// revocationFeed serves GET <issuer>/oauth2/revocations?after=N, the feed
// that ext_authz servers follow (package revfeed describes the protocol).
//
// NOTE: each open feed polls the store on its own. With many ext_authz
// replicas a shared poller per issuer would spare the store.
type revocationFeed struct {
	store store.RevocationStore
	now   func() time.Time
	log   *slog.Logger
	// closing is closed by CloseStreams to end every open feed.
	closing   chan struct{}
	closeOnce sync.Once
	// epoch names this process's view of the cursors. A persistent store
	// keeps its cursors across restarts, but a reader that meets a new
	// epoch only rereads the list, so a new epoch per process is safe.
	epoch string
}

func newRevocationFeed(s store.RevocationStore, now func() time.Time, log *slog.Logger) *revocationFeed {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &revocationFeed{store: s, now: now, log: log, epoch: base64.RawURLEncoding.EncodeToString(b[:]), closing: make(chan struct{})}
}

func (f *revocationFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	after, err := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	if err != nil && r.URL.Query().Get("after") != "" {
		http.Error(w, "invalid after parameter: want a cursor number", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", revfeed.MediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(revfeed.EpochHeader, f.epoch)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	f.log.LogAttrs(r.Context(), slog.LevelInfo, "revocation feed opened", slog.String("remoteAddr", r.RemoteAddr), slog.Uint64("after", after))
	err = f.stream(r.Context(), w, rc, after)
	f.log.LogAttrs(r.Context(), slog.LevelInfo, "revocation feed closed", slog.String("remoteAddr", r.RemoteAddr), slog.Any("reason", err))
}

// stream writes the backlog, the sync line, then new revocations and
// heartbeats until ctx ends or a write fails.
func (f *revocationFeed) stream(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, after uint64) error {
	synced := false
	lastWrite := time.Now()
	ticker := time.NewTicker(feedPollInterval)
	defer ticker.Stop()
	for {
		cursor, more, err := f.writeBatch(ctx, w, rc, after)
		if err != nil {
			return err
		}
		wrote := cursor != after
		after = cursor
		if !more && !synced {
			synced, wrote = true, true
			if err := f.write(w, rc, revfeed.Line{Type: revfeed.TypeSync}); err != nil {
				return err
			}
		}
		if !wrote && time.Since(lastWrite) >= revfeed.HeartbeatInterval {
			wrote = true
			if err := f.write(w, rc, revfeed.Line{Type: revfeed.TypeHeartbeat}); err != nil {
				return err
			}
		}
		if wrote {
			lastWrite = time.Now()
			if err := rc.Flush(); err != nil {
				return err
			}
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.closing:
			return errFeedClosed
		case <-ticker.C:
		}
	}
}

// writeBatch writes the revocations after cursor, at most feedBatch, and
// returns the new cursor and whether more may be waiting.
func (f *revocationFeed) writeBatch(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, cursor uint64) (uint64, bool, error) {
	list, err := f.store.ListRevocations(ctx, cursor, f.now(), feedBatch)
	if err != nil {
		f.log.LogAttrs(ctx, slog.LevelError, "read revocations for the feed failed", slog.Any("error", err))
		return cursor, false, err
	}
	for _, rev := range list {
		if err := f.write(w, rc, feedLine(rev)); err != nil {
			return cursor, false, err
		}
		cursor = rev.Cursor
	}
	return cursor, len(list) == feedBatch, nil
}

// errFeedClosed ends a feed whose server is shutting down. The reader
// reconnects, to another replica or to this one once it is back.
var errFeedClosed = errors.New("issuer shutting down")

// close ends every open feed response.
func (f *revocationFeed) close() {
	f.closeOnce.Do(func() { close(f.closing) })
}

// feedLine turns a stored revocation into a feed entry.
func feedLine(rev store.Revocation) revfeed.Line {
	kind, value := store.ParseRevocationKey(rev.JTI)
	line := revfeed.Line{Cursor: rev.Cursor, Kind: revfeed.KindToken, Value: value, RevokedAt: rev.RevokedAt.Unix(), ExpiresAt: rev.ExpiresAt.Unix()}
	switch kind {
	case store.RevokedSession:
		line.Kind = revfeed.KindSession
	case store.RevokedSubject:
		line.Kind = revfeed.KindSubject
	}
	return line
}

func (f *revocationFeed) write(w http.ResponseWriter, rc *http.ResponseController, line revfeed.Line) error {
	if err := rc.SetWriteDeadline(time.Now().Add(feedWriteTimeout)); err != nil && f.log != nil {
		// Not every ResponseWriter supports deadlines (httptest does not).
		f.log.Debug("revocation feed write deadline not supported", "error", err)
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
