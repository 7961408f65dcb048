package extauthz

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/internal/revfeed"
)

// denyList holds the revocations of one issuer's access tokens. Readers
// load an immutable snapshot without locking; the feed reader replaces it
// under mu, which only writers take.
type denyList struct {
	mu   sync.Mutex
	snap atomic.Pointer[denySnapshot]
}

// denySnapshot is one version of a deny list. Times are Unix seconds.
type denySnapshot struct {
	tokens   map[string]int64 // jti → expiry of the revocation
	sessions map[string]int64 // sid → expiry
	subjects map[string]subjectRevocation
}

// subjectRevocation revokes the tokens of a subject issued at or before
// revokedAt, until expiresAt.
type subjectRevocation struct {
	revokedAt int64
	expiresAt int64
}

// denied reports whether a revocation covers vt at now (Unix seconds). An
// empty list costs one atomic load.
func (d *denyList) denied(vt *verifiedToken, now int64) bool {
	s := d.snap.Load()
	if s == nil {
		return false
	}
	if exp, ok := s.tokens[vt.tokenID]; ok && vt.tokenID != "" && now < exp {
		return true
	}
	if exp, ok := s.sessions[vt.sessionID]; ok && vt.sessionID != "" && now < exp {
		return true
	}
	r, ok := s.subjects[vt.subject]
	return ok && now < r.expiresAt && vt.issuedAt <= r.revokedAt
}

// apply adds entries to the list, drops revocations that expired before
// now, and replaces the whole list instead when replace is set.
func (d *denyList) apply(entries []revfeed.Line, replace bool, now int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := &denySnapshot{tokens: map[string]int64{}, sessions: map[string]int64{}, subjects: map[string]subjectRevocation{}}
	if old := d.snap.Load(); old != nil && !replace {
		next.tokens = maps.Clone(old.tokens)
		next.sessions = maps.Clone(old.sessions)
		next.subjects = maps.Clone(old.subjects)
	}
	for _, e := range entries {
		next.add(e)
	}
	next.prune(now)
	d.snap.Store(next)
}

func (s *denySnapshot) add(e revfeed.Line) {
	switch e.Kind {
	case revfeed.KindToken:
		s.tokens[e.Value] = max(s.tokens[e.Value], e.ExpiresAt)
	case revfeed.KindSession:
		s.sessions[e.Value] = max(s.sessions[e.Value], e.ExpiresAt)
	case revfeed.KindSubject:
		r := s.subjects[e.Value]
		s.subjects[e.Value] = subjectRevocation{revokedAt: max(r.revokedAt, e.RevokedAt), expiresAt: max(r.expiresAt, e.ExpiresAt)}
	}
}

// prune drops revocations whose tokens have all expired, which bounds the
// list by the number of revocations within one access-token lifetime.
func (s *denySnapshot) prune(now int64) {
	maps.DeleteFunc(s.tokens, func(_ string, exp int64) bool { return exp <= now })
	maps.DeleteFunc(s.sessions, func(_ string, exp int64) bool { return exp <= now })
	maps.DeleteFunc(s.subjects, func(_ string, r subjectRevocation) bool { return r.expiresAt <= now })
}

// size returns the number of revocations held.
func (d *denyList) size() int {
	s := d.snap.Load()
	if s == nil {
		return 0
	}
	return len(s.tokens) + len(s.sessions) + len(s.subjects)
}
