package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// Defaults of SecretWatch.
const (
	// DefaultWatchTimeout is the timeoutSeconds of each WATCH request.
	// client-go picks 5 to 10 minutes, so that the load of new watches on
	// the API server spreads out.
	DefaultWatchTimeout = 5 * time.Minute
	// DefaultMinBackoff is the first wait after a failed request.
	DefaultMinBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff is the longest wait between two failed requests.
	DefaultMaxBackoff = 30 * time.Second
)

// watchTimeoutSlack is how long after its timeoutSeconds the client gives
// up on a WATCH that the server has not ended, such as one whose TCP
// connection silently died.
const watchTimeoutSlack = 30 * time.Second

// minHealthyWatch is how long a WATCH without events must last to count as
// healthy. One that the server ends sooner is retried after a back-off, so
// that a misbehaving server cannot drive a tight loop of requests.
const minHealthyWatch = time.Second

// Watch event types of the Kubernetes API.
const (
	eventAdded    = "ADDED"
	eventModified = "MODIFIED"
	eventDeleted  = "DELETED"
	eventBookmark = "BOOKMARK"
	eventError    = "ERROR"
)

// ErrEventTooLarge reports a watch event larger than MaxWatchEventBytes.
var ErrEventTooLarge = errors.New("watch event too large")

// SecretWatch keeps a copy of the Secrets in one namespace that match a
// label selector, and reports every change to OnChange. Set the fields,
// then call Run once.
type SecretWatch struct {
	// Client sends the requests.
	Client *Client
	// Namespace is the namespace whose Secrets are watched. Required.
	Namespace string
	// LabelSelector selects the Secrets, such as "app=x" or "key" for all
	// Secrets with that label. Empty means all Secrets of the namespace.
	LabelSelector string
	// WatchTimeout is the timeoutSeconds of each WATCH request, after which
	// the server ends it and a new one starts. Zero means
	// DefaultWatchTimeout. It is rounded down to whole seconds, at least 1.
	WatchTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential back-off after a
	// failed request. Zero means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Logger receives starts, resyncs and errors. Nil means slog.Default().
	Logger *slog.Logger
	// OnChange receives all matching Secrets by name after the first list
	// and after each change. It runs on Run's goroutine, so it delays the
	// next event while it runs. It must not modify the map or the Secrets.
	OnChange func(secrets map[string]Secret)

	connected atomic.Bool
}

// Connected reports whether a WATCH request is open, so that changes
// reach OnChange as they happen.
func (w *SecretWatch) Connected() bool {
	return w.connected.Load()
}

// Run lists the Secrets and watches them for changes until ctx ends, then
// returns nil. It retries every failure with back-off, so it returns an
// error only for an invalid SecretWatch.
func (w *SecretWatch) Run(ctx context.Context) error {
	if w.Client == nil || w.Namespace == "" || w.OnChange == nil {
		return errors.New("kubernetes secret watch: Client, Namespace and OnChange are required")
	}
	inf := &informer{
		SecretWatch: w,
		log:         cmpLogger(w.Logger).With("namespace", w.Namespace, "labelSelector", w.LabelSelector),
		backoff:     newBackoff(w.MinBackoff, w.MaxBackoff),
		timeout:     watchTimeout(w.WatchTimeout),
	}
	inf.log.Info("kubernetes secret watch starting", "watchTimeout", inf.timeout.String())
	defer w.connected.Store(false)
	inf.run(ctx)
	inf.log.Info("kubernetes secret watch stopped")
	return nil
}

func cmpLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

func watchTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultWatchTimeout
	}
	return max(d.Truncate(time.Second), time.Second)
}

// informer is the state of one Run: the Secrets known, and the
// resourceVersion they are current at. Only Run's goroutine uses it.
type informer struct {
	*SecretWatch
	log             *slog.Logger
	backoff         *backoff
	timeout         time.Duration
	secrets         map[string]Secret
	resourceVersion string
	lists           int
}

func (inf *informer) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := inf.list(ctx); err != nil {
			inf.connected.Store(false)
			inf.retryAfterError(ctx, "kubernetes list failed, retrying", err)
			continue
		}
		inf.backoff.reset()
		inf.watch(ctx)
	}
}

// list replaces the known Secrets with a fresh LIST.
func (inf *informer) list(ctx context.Context) error {
	list, resourceVersion, err := inf.Client.ListSecrets(ctx, inf.Namespace, inf.LabelSelector)
	if err != nil {
		return err
	}
	secrets := make(map[string]Secret, len(list))
	for _, s := range list {
		secrets[s.Name] = s
	}
	inf.secrets, inf.resourceVersion = secrets, resourceVersion
	inf.lists++
	if inf.lists == 1 {
		inf.log.Info("kubernetes secrets listed", "secrets", len(secrets), "resourceVersion", resourceVersion)
	} else {
		inf.log.Info("kubernetes secrets listed again (resync)", "secrets", len(secrets), "resourceVersion", resourceVersion)
	}
	inf.OnChange(maps.Clone(secrets))
	return nil
}

// watch sends WATCH requests from the last resourceVersion until ctx ends
// or the server reports that the resourceVersion is gone, in which case
// the caller lists again.
func (inf *informer) watch(ctx context.Context) {
	for ctx.Err() == nil {
		start := time.Now()
		events, err := inf.watchOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case IsGone(err):
			inf.connected.Store(false)
			inf.log.Info("kubernetes watch resourceVersion expired, listing again", "resourceVersion", inf.resourceVersion, "error", err)
			return
		case err != nil:
			inf.connected.Store(false)
			inf.retryAfterError(ctx, "kubernetes watch failed, retrying", err)
		case events == 0 && time.Since(start) < minHealthyWatch:
			inf.retryAfterError(ctx, "kubernetes watch ended at once, retrying", errors.New("the server closed the watch without events"))
		default:
			inf.backoff.reset()
			inf.log.Debug("kubernetes watch ended, watching again", "resourceVersion", inf.resourceVersion, "events", events)
		}
	}
}

func (inf *informer) retryAfterError(ctx context.Context, msg string, err error) {
	delay := inf.backoff.next()
	inf.log.Error(msg, "error", err, "retryIn", delay.String(), "resourceVersion", inf.resourceVersion)
	sleep(ctx, delay)
}

// watchOnce runs one WATCH request and applies its events. It returns the
// number of events, and nil when the server ended the watch normally.
func (inf *informer) watchOnce(ctx context.Context) (int, error) {
	watchCtx, cancel := context.WithTimeout(ctx, inf.timeout+watchTimeoutSlack)
	defer cancel()
	query := url.Values{
		"watch":               {"1"},
		"resourceVersion":     {inf.resourceVersion},
		"allowWatchBookmarks": {"true"},
		"timeoutSeconds":      {strconv.Itoa(int(inf.timeout / time.Second))},
	}
	if inf.LabelSelector != "" {
		query.Set("labelSelector", inf.LabelSelector)
	}
	resp, err := inf.Client.get(watchCtx, secretsPath(inf.Namespace), query)
	if err != nil {
		return 0, fmt.Errorf("watch secrets: %w", err)
	}
	defer resp.Body.Close()
	inf.connected.Store(true)
	inf.log.Debug("kubernetes watch started", "resourceVersion", inf.resourceVersion)

	dec := newEventDecoder(resp.Body, MaxWatchEventBytes)
	for events := 0; ; events++ {
		ev, err := dec.next()
		switch {
		case errors.Is(err, io.EOF):
			return events, nil
		case err != nil && ctx.Err() == nil && watchCtx.Err() != nil:
			// The server did not end the watch in time: start a new one.
			return events, nil
		case err != nil:
			return events, fmt.Errorf("watch secrets: %w", err)
		}
		if err := inf.apply(ev); err != nil {
			return events, err
		}
	}
}

// apply updates the known Secrets with one event and reports a change to
// OnChange.
func (inf *informer) apply(ev watchEvent) error {
	change, err := decodeEvent(ev)
	if err != nil {
		return err
	}
	if change.resourceVersion != "" {
		inf.resourceVersion = change.resourceVersion
	}
	switch ev.Type {
	case eventAdded, eventModified:
		inf.secrets[change.secret.Name] = change.secret
	case eventDeleted:
		delete(inf.secrets, change.secret.Name)
	default:
		return nil
	}
	inf.OnChange(maps.Clone(inf.secrets))
	return nil
}

// watchEvent is one event of a WATCH response.
type watchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// eventChange is the content of a decoded event.
type eventChange struct {
	// secret is the object of ADDED, MODIFIED and DELETED.
	secret Secret
	// resourceVersion is the object's resourceVersion, also for BOOKMARK.
	resourceVersion string
}

// decodeEvent decodes the object of ev. An ERROR event becomes an
// *APIError, and an unknown event type an error.
func decodeEvent(ev watchEvent) (eventChange, error) {
	switch ev.Type {
	case eventAdded, eventModified, eventDeleted:
		var s secretJSON
		if err := json.Unmarshal(ev.Object, &s); err != nil {
			return eventChange{}, fmt.Errorf("watch event %s: %w", ev.Type, err)
		}
		secret, err := s.secret()
		if err != nil {
			return eventChange{}, fmt.Errorf("watch event %s: %w", ev.Type, err)
		}
		return eventChange{secret: secret, resourceVersion: secret.ResourceVersion}, nil
	case eventBookmark:
		var s secretJSON
		if err := json.Unmarshal(ev.Object, &s); err != nil {
			return eventChange{}, fmt.Errorf("watch event %s: %w", ev.Type, err)
		}
		return eventChange{resourceVersion: s.Metadata.ResourceVersion}, nil
	case eventError:
		var st status
		if err := json.Unmarshal(ev.Object, &st); err != nil {
			return eventChange{}, fmt.Errorf("watch event %s: %w", ev.Type, err)
		}
		return eventChange{}, &APIError{Code: st.Code, Reason: st.Reason, Message: st.Message}
	}
	return eventChange{}, fmt.Errorf("watch event: unknown type %q", ev.Type)
}

// eventDecoder reads the JSON events of a WATCH response one at a time,
// and fails on an event larger than its limit instead of buffering it.
type eventDecoder struct {
	counter *countingReader
	dec     *json.Decoder
}

func newEventDecoder(r io.Reader, limit int64) *eventDecoder {
	counter := &countingReader{r: r, limit: limit}
	return &eventDecoder{counter: counter, dec: json.NewDecoder(counter)}
}

// next returns the next event, or io.EOF after the last one.
func (d *eventDecoder) next() (watchEvent, error) {
	d.counter.reset()
	var ev watchEvent
	if err := d.dec.Decode(&ev); err != nil {
		return watchEvent{}, err
	}
	return ev, nil
}

// countingReader fails once more than limit bytes are read since the last
// reset. The JSON decoder may read ahead into the next event, so an event
// can use up to one read buffer more than limit before it fails.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.limit {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrEventTooLarge, c.limit)
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) reset() { c.n = 0 }

// backoff is an exponential back-off with jitter.
type backoff struct {
	min, max, current time.Duration
}

func newBackoff(minDelay, maxDelay time.Duration) *backoff {
	if minDelay <= 0 {
		minDelay = DefaultMinBackoff
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxBackoff
	}
	return &backoff{min: minDelay, max: max(minDelay, maxDelay)}
}

// next returns the next delay: the previous one doubled, within min and
// max, minus up to a fifth at random so that replicas spread out.
func (b *backoff) next() time.Duration {
	b.current = min(max(2*b.current, b.min), b.max)
	jitter := time.Duration(rand.Int64N(int64(b.current)/5 + 1))
	return b.current - jitter
}

func (b *backoff) reset() { b.current = 0 }

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
