package store

import (
	"context"
	"slices"
	"time"
)

// RevokeAccessToken implements RevocationStore.
func (m *Memory) RevokeAccessToken(_ context.Context, jti string, expiresAt, now time.Time) error {
	if jti == "" {
		return ErrInvalidArgument
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	if _, ok := m.revokedJTI[jti]; ok || !now.Before(expiresAt) {
		return nil
	}
	m.appendRevocationLocked(jti, expiresAt, now)
	return nil
}

func (m *Memory) appendRevocationLocked(jti string, expiresAt, now time.Time) {
	m.lastCursor++
	m.revocations = append(m.revocations, Revocation{Cursor: m.lastCursor, JTI: jti, RevokedAt: now, ExpiresAt: expiresAt})
	m.revokedJTI[jti] = expiresAt
}

// RevokeSubjectAccessTokens implements SubjectRevocationStore.
func (m *Memory) RevokeSubjectAccessTokens(_ context.Context, subject string, expiresAt, now time.Time) error {
	if subject == "" {
		return ErrInvalidArgument
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	key := SubjectRevocationKey(subject, now)
	if _, ok := m.revokedJTI[key]; ok || !now.Before(expiresAt) {
		return nil
	}
	m.appendRevocationLocked(key, expiresAt, now)
	m.revokedSubjects[subject] = m.revokedSubjects[subject].Merge(SubjectRevocation{RevokedAt: now, ExpiresAt: expiresAt})
	return nil
}

// SubjectRevokedSince implements SubjectRevocationStore.
func (m *Memory) SubjectRevokedSince(_ context.Context, subject string, since, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.revokedSubjects[subject].Covers(since, now), nil
}

// AccessTokenRevoked implements RevocationStore.
func (m *Memory) AccessTokenRevoked(_ context.Context, jti string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	expiresAt, ok := m.revokedJTI[jti]
	return ok && now.Before(expiresAt), nil
}

// ListRevocations implements RevocationStore.
func (m *Memory) ListRevocations(_ context.Context, after uint64, now time.Time, limit int) ([]Revocation, error) {
	if limit <= 0 {
		return nil, ErrInvalidArgument
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	start, _ := slices.BinarySearchFunc(m.revocations, after+1, func(r Revocation, c uint64) int {
		return compareCursor(r.Cursor, c)
	})
	var out []Revocation
	for _, r := range m.revocations[start:] {
		if len(out) == limit {
			break
		}
		if now.Before(r.ExpiresAt) {
			out = append(out, r)
		}
	}
	return out, nil
}

func compareCursor(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// RecordFailure implements FailureCounter.
func (m *Memory) RecordFailure(_ context.Context, key string, window time.Duration, now time.Time) (int, error) {
	if key == "" || window <= 0 {
		return 0, ErrInvalidArgument
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	w := m.failures[key]
	if !now.Before(w.until) {
		w = failureWindow{until: now.Add(window)}
	}
	w.count++
	m.failures[key] = w
	return w.count, nil
}

// Failures implements FailureCounter.
func (m *Memory) Failures(_ context.Context, key string, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.failures[key]
	if !now.Before(w.until) {
		return 0, nil
	}
	return w.count, nil
}

// ResetFailures implements FailureCounter.
func (m *Memory) ResetFailures(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.failures, key)
	return nil
}

// sweepLocked removes expired records, once per sweepInterval, so that the
// maps do not grow with every token ever issued.
func (m *Memory) sweepLocked(now time.Time) {
	if now.Sub(m.lastSweep) < sweepInterval {
		return
	}
	m.lastSweep = now
	m.sweepTokens(now)
	m.revocations = slices.DeleteFunc(m.revocations, func(r Revocation) bool {
		if now.Before(r.ExpiresAt) {
			return false
		}
		delete(m.revokedJTI, r.JTI)
		return true
	})
	for key, w := range m.failures {
		if !now.Before(w.until) {
			delete(m.failures, key)
		}
	}
	for subject, r := range m.revokedSubjects {
		if !now.Before(r.ExpiresAt) {
			delete(m.revokedSubjects, subject)
		}
	}
}

func (m *Memory) sweepTokens(now time.Time) {
	for familyID, hashes := range m.families {
		var subject string
		live := slices.DeleteFunc(hashes, func(h Hash) bool {
			subject = m.tokens[h].token.Subject
			if now.Before(m.tokens[h].token.Expiry()) {
				return false
			}
			delete(m.tokens, h)
			return true
		})
		if len(live) == 0 {
			delete(m.families, familyID)
			m.forgetFamilyOfSubject(subject, familyID)
			continue
		}
		m.families[familyID] = live
	}
}
