package extauthz

import (
	"crypto/sha256"
	"sync"
)

// tokenDigest is the SHA-256 of a token. The cache keys on it, so it never
// holds a raw token.
type tokenDigest = [sha256.Size]byte

// maxCacheShards is the shard count of a large cache. Sharding keeps
// concurrent readers of different tokens off each other's lock.
const maxCacheShards = 64

// minShardEntries keeps shards of a small cache from being so small that
// eviction churns.
const minShardEntries = 16

// tokenCache maps token digests to verified tokens. It is bounded: a full
// shard first drops its stale entries, then random ones. A nil *tokenCache
// caches nothing.
type tokenCache struct {
	shards   []cacheShard
	mask     uint32
	perShard int
}

type cacheShard struct {
	mu      sync.RWMutex
	entries map[tokenDigest]*verifiedToken
	// Padding to a 64-byte line, so that two shards' locks do not share a
	// cache line.
	_ [64 - 24 - 8]byte
}

// newTokenCache returns a cache for about size entries (rounded up to a
// multiple of the shard count), or nil when size is not positive.
func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	shards := 1
	for shards < maxCacheShards && shards*2*minShardEntries <= size {
		shards *= 2
	}
	c := &tokenCache{
		shards:   make([]cacheShard, shards),
		mask:     uint32(shards - 1),
		perShard: (size + shards - 1) / shards,
	}
	for i := range c.shards {
		c.shards[i].entries = make(map[tokenDigest]*verifiedToken)
	}
	return c
}

func (c *tokenCache) shard(d *tokenDigest) *cacheShard {
	return &c.shards[uint32(d[0])&c.mask]
}

// get returns the entry for d if it is still valid at now (Unix nanoseconds).
func (c *tokenCache) get(d *tokenDigest, now int64) *verifiedToken {
	if c == nil {
		return nil
	}
	sh := c.shard(d)
	sh.mu.RLock()
	vt := sh.entries[*d]
	sh.mu.RUnlock()
	if vt == nil || !vt.valid(now) {
		return nil
	}
	return vt
}

// put stores vt unless it is already stale at now.
func (c *tokenCache) put(d *tokenDigest, vt *verifiedToken, now int64) {
	if c == nil || !vt.valid(now) {
		return
	}
	sh := c.shard(d)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.entries[*d]; !ok && len(sh.entries) >= c.perShard {
		sh.evict(now, c.perShard)
	}
	sh.entries[*d] = vt
}

// evict makes room in a full shard. It drops stale entries first. If that
// is not enough, it drops arbitrary ones (map iteration starts at a random
// entry) until an eighth of the shard is free, so the next inserts need no scan.
func (sh *cacheShard) evict(now int64, capacity int) {
	for d, vt := range sh.entries {
		if !vt.valid(now) {
			delete(sh.entries, d)
		}
	}
	target := capacity - max(1, capacity/8)
	for d := range sh.entries {
		if len(sh.entries) <= target {
			return
		}
		delete(sh.entries, d)
	}
}

// len returns the number of entries, stale ones included.
func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.entries)
		sh.mu.RUnlock()
	}
	return n
}
