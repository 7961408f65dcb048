package extauthz

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// Key set errors.
var (
	// ErrIssuerMismatch reports metadata whose "issuer" differs from the
	// configured issuer (RFC 8414 §3.3).
	ErrIssuerMismatch = errors.New("metadata issuer does not match")
	// ErrFetch reports a metadata or key set request that failed.
	ErrFetch = errors.New("fetch failed")
	// ErrEmptyKeySet reports a JWKS without a usable signing key.
	ErrEmptyKeySet = errors.New("key set has no signing keys")
	// errRefetchTooSoon reports an unknown-kid refetch skipped by the rate limit.
	errRefetchTooSoon = errors.New("key set refetched too recently")
)

// verifyKey is a verification key of one issuer. retired is set when a
// refresh drops the key, which invalidates every cached token it signed.
type verifyKey struct {
	jose.PublicKey
	retired atomic.Bool
}

// keySet is an immutable snapshot of an issuer's keys by "kid".
type keySet struct {
	keys map[string]*verifyKey
}

// keySource loads the current keys of an issuer. forced is true for a
// refetch caused by an unknown "kid".
type keySource interface {
	load(ctx context.Context, forced bool) ([]jose.PublicKey, error)
}

// issuerKeys keeps the key set of one issuer current.
type issuerKeys struct {
	issuer    string
	audiences []string
	interval  time.Duration
	source    keySource
	log       *slog.Logger
	now       func() time.Time
	metrics   refreshCounters
	// deny holds the issuer's revoked access tokens.
	deny *denyList

	// ctx bounds the fetches. It is the context given to New.
	ctx        context.Context
	set        atomic.Pointer[keySet]
	installMu  sync.Mutex
	refetch    singleflight.Group
	lastForced atomic.Int64 // UnixNano of the last forced refetch, 0 for none
	loaded     chan struct{}
	loadOnce   sync.Once
}

// lookup returns the key with the given "kid", or nil. It also returns
// false when no key set has been loaded yet.
func (k *issuerKeys) lookup(kid string) (*verifyKey, bool) {
	set := k.set.Load()
	if set == nil {
		return nil, false
	}
	return set.keys[kid], true
}

// refresh loads the keys and installs them. On failure the last good set
// stays in place.
func (k *issuerKeys) refresh(forced bool) error {
	keys, err := k.source.load(k.ctx, forced)
	if err == nil && len(keys) == 0 {
		err = ErrEmptyKeySet
	}
	if err != nil {
		k.metrics.failure.Inc()
		k.log.LogAttrs(k.ctx, slog.LevelWarn, "key set refresh failed",
			slog.String("issuer", k.issuer), slog.Bool("forced", forced),
			slog.Bool("keepingLastGoodSet", k.set.Load() != nil), slog.Any("error", err))
		return fmt.Errorf("refresh keys of %s: %w", k.issuer, err)
	}
	k.metrics.success.Inc()
	k.install(keys)
	return nil
}

// install replaces the key set. A key that is in both the old and the new
// set with the same material keeps its *verifyKey, so tokens cached under it
// stay valid. Every dropped key is marked retired.
func (k *issuerKeys) install(keys []jose.PublicKey) {
	k.installMu.Lock()
	defer k.installMu.Unlock()
	old := k.set.Load()
	next := &keySet{keys: make(map[string]*verifyKey, len(keys))}
	for _, pk := range keys {
		next.keys[pk.ID] = reuseKey(old, pk)
	}
	k.set.Store(next)
	if old != nil {
		retireDropped(old, next)
	}
	k.loadOnce.Do(func() { close(k.loaded) })
	// A first load or a changed set is worth an operator's attention,
	// because it follows a failure or a key rotation. A periodic refresh
	// that changes nothing is not.
	level := slog.LevelDebug
	if old == nil || !sameKeyIDs(old, next) {
		level = slog.LevelInfo
	}
	k.log.LogAttrs(k.ctx, level, "key set installed",
		slog.String("issuer", k.issuer), slog.Int("keys", len(keys)))
}

func reuseKey(old *keySet, pk jose.PublicKey) *verifyKey {
	if old != nil {
		if prev, ok := old.keys[pk.ID]; ok && sameKey(prev.PublicKey, pk) {
			return prev
		}
	}
	return &verifyKey{PublicKey: pk}
}

func sameKey(a, b jose.PublicKey) bool {
	ak, ok := a.Key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && a.Algorithm == b.Algorithm && ak.Equal(b.Key)
}

func retireDropped(old, next *keySet) {
	for kid, key := range old.keys {
		if next.keys[kid] != key {
			key.retired.Store(true)
		}
	}
}

// refetchForKid refetches the key set for a token whose "kid" is unknown,
// then looks the kid up again. Concurrent callers share one fetch, and at
// most one forced fetch per MinForcedRefetchInterval reaches the issuer.
// The caller waits no longer than ctx allows.
func (k *issuerKeys) refetchForKid(ctx context.Context, kid string) *verifyKey {
	ch := k.refetch.DoChan("refetch", func() (any, error) {
		now := k.now().UnixNano()
		last := k.lastForced.Load()
		if last != 0 && now-last < int64(MinForcedRefetchInterval) {
			return nil, errRefetchTooSoon
		}
		k.lastForced.Store(now)
		return nil, k.refresh(true)
	})
	select {
	case <-ctx.Done():
		return nil
	case <-ch:
	}
	key, _ := k.lookup(kid)
	return key
}

// Retry delays after a failed refresh. The delay doubles from
// minRetryDelay up to maxRetryDelay (or the refresh interval if shorter), so
// a server that starts while its issuer is down becomes ready soon after the
// issuer is back.
const (
	minRetryDelay = 500 * time.Millisecond
	maxRetryDelay = 30 * time.Second
)

// run refreshes the key set until ctx ends: at once, then every interval,
// and sooner after a failure.
func (k *issuerKeys) run(ctx context.Context) {
	retry := minRetryDelay
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		next := k.interval
		if err := k.refresh(false); err != nil {
			next = min(retry, k.interval)
			retry = min(2*retry, maxRetryDelay)
		} else {
			retry = minRetryDelay
		}
		timer.Reset(next)
	}
}

// sameKeyIDs reports whether two key sets hold the same key objects under
// the same IDs.
func sameKeyIDs(a, b *keySet) bool {
	if len(a.keys) != len(b.keys) {
		return false
	}
	for id, key := range a.keys {
		if b.keys[id] != key {
			return false
		}
	}
	return true
}
