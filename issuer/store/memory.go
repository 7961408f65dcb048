package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// sweepInterval is how often a Memory store removes expired records, at
// most. Put, RevokeAccessToken, RevokeSubjectAccessTokens and
// RecordFailure trigger the sweep.
const sweepInterval = time.Minute

// Memory is a Store in process memory, for a single issuer replica. Its
// records are lost on restart, which logs every user out.
//
// A used token stays in the store until it expires, so that presenting it
// again is detected as reuse rather than reported as unknown.
type Memory struct {
	mu          sync.Mutex
	tokens      map[Hash]*entry
	families    map[string][]Hash
	subjects    map[string]map[string]struct{}
	revocations []Revocation
	revokedJTI  map[string]time.Time
	lastCursor  uint64
	failures    map[string]failureWindow
	lastSweep   time.Time

	// revokedSubjects holds the merged revocation of each revoked subject.
	revokedSubjects map[string]SubjectRevocation
}

type entry struct {
	token RefreshToken
	used  bool
}

// failureWindow is the failure count of one key in one window.
type failureWindow struct {
	count int
	until time.Time
}

// record returns a copy of the stored token that the caller may modify.
func (e *entry) record() RefreshToken {
	token := e.token
	token.Scope = slices.Clone(token.Scope)
	return token
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{
		tokens:     make(map[Hash]*entry),
		families:   make(map[string][]Hash),
		subjects:   make(map[string]map[string]struct{}),
		revokedJTI: make(map[string]time.Time),
		failures:   make(map[string]failureWindow),

		revokedSubjects: make(map[string]SubjectRevocation),
	}
}

// Put implements RefreshStore.
func (m *Memory) Put(_ context.Context, token RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(token.IssuedAt)
	return m.putLocked(token)
}

func (m *Memory) putLocked(token RefreshToken) error {
	if _, exists := m.tokens[token.Hash]; exists {
		return ErrDuplicate
	}
	token.Scope = slices.Clone(token.Scope)
	m.tokens[token.Hash] = &entry{token: token}
	m.families[token.FamilyID] = append(m.families[token.FamilyID], token.Hash)
	if m.subjects[token.Subject] == nil {
		m.subjects[token.Subject] = make(map[string]struct{})
	}
	m.subjects[token.Subject][token.FamilyID] = struct{}{}
	return nil
}

// Get implements RefreshStore.
func (m *Memory) Get(_ context.Context, hash Hash, now time.Time) (RefreshToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.usableLocked(hash, now)
	if errors.Is(err, ErrReused) {
		return e.record(), err
	}
	if err != nil {
		return RefreshToken{}, err
	}
	return e.record(), nil
}

// Rotate implements RefreshStore.
func (m *Memory) Rotate(_ context.Context, old Hash, next RefreshToken) (RefreshToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.usableLocked(old, next.IssuedAt)
	if errors.Is(err, ErrReused) {
		return e.record(), err
	}
	if err != nil {
		return RefreshToken{}, err
	}
	if next.FamilyID != e.token.FamilyID {
		return RefreshToken{}, ErrFamilyMismatch
	}
	if err := m.putLocked(next); err != nil {
		return RefreshToken{}, err
	}
	e.used = true
	return e.record(), nil
}

// usableLocked returns the entry of an unused, unexpired token. A used one
// revokes its family.
func (m *Memory) usableLocked(hash Hash, now time.Time) (*entry, error) {
	e, ok := m.tokens[hash]
	if !ok {
		return nil, ErrNotFound
	}
	if !now.Before(e.token.Expiry()) {
		return nil, ErrExpired
	}
	if e.used {
		m.revokeLocked(e.token.FamilyID)
		return e, ErrReused
	}
	return e, nil
}

// RevokeFamily implements RefreshStore.
func (m *Memory) RevokeFamily(_ context.Context, familyID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revokeLocked(familyID)
	return nil
}

// RevokeSubject implements Store.
func (m *Memory) RevokeSubject(_ context.Context, subject string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for familyID := range m.subjects[subject] {
		m.revokeLocked(familyID)
	}
	delete(m.subjects, subject)
	return nil
}

func (m *Memory) revokeLocked(familyID string) {
	for _, h := range m.families[familyID] {
		m.forgetFamilyOfSubject(m.tokens[h].token.Subject, familyID)
		delete(m.tokens, h)
	}
	delete(m.families, familyID)
}

func (m *Memory) forgetFamilyOfSubject(subject, familyID string) {
	delete(m.subjects[subject], familyID)
	if len(m.subjects[subject]) == 0 {
		delete(m.subjects, subject)
	}
}
