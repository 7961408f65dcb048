package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// sweepInterval is how often Put removes expired tokens from a Memory
// store, at most.
const sweepInterval = time.Minute

// Errors of programming mistakes in the caller, which a correct issuer
// never causes.
var (
	errDuplicate      = errors.New("refresh token hash already stored")
	errFamilyMismatch = errors.New("rotated refresh token must stay in its family")
)

// Memory is a RefreshStore in process memory, for a single issuer replica.
// Its tokens are lost on restart, which logs every user out.
//
// A used token stays in the store until it expires, so that presenting it
// again is detected as reuse rather than reported as unknown.
type Memory struct {
	mu        sync.Mutex
	tokens    map[Hash]*entry
	families  map[string][]Hash
	lastSweep time.Time
}

type entry struct {
	token RefreshToken
	used  bool
}

// record returns a copy of the stored token that the caller may modify.
func (e *entry) record() RefreshToken {
	token := e.token
	token.Scope = slices.Clone(token.Scope)
	return token
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{tokens: make(map[Hash]*entry), families: make(map[string][]Hash)}
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
		return errDuplicate
	}
	token.Scope = slices.Clone(token.Scope)
	m.tokens[token.Hash] = &entry{token: token}
	m.families[token.FamilyID] = append(m.families[token.FamilyID], token.Hash)
	return nil
}

// Get implements RefreshStore.
func (m *Memory) Get(_ context.Context, hash Hash, now time.Time) (RefreshToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.usableLocked(hash, now)
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
	if err != nil {
		return RefreshToken{}, err
	}
	if next.FamilyID != e.token.FamilyID {
		return RefreshToken{}, errFamilyMismatch
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
	if !now.Before(e.token.ExpiresAt) {
		return nil, ErrExpired
	}
	if e.used {
		m.revokeLocked(e.token.FamilyID)
		return nil, ErrReused
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

func (m *Memory) revokeLocked(familyID string) {
	for _, h := range m.families[familyID] {
		delete(m.tokens, h)
	}
	delete(m.families, familyID)
}

// sweepLocked removes expired tokens, once per sweepInterval, so that the
// maps do not grow with every token ever issued.
func (m *Memory) sweepLocked(now time.Time) {
	if now.Sub(m.lastSweep) < sweepInterval {
		return
	}
	m.lastSweep = now
	for familyID, hashes := range m.families {
		live := slices.DeleteFunc(hashes, func(h Hash) bool {
			if now.Before(m.tokens[h].token.ExpiresAt) {
				return false
			}
			delete(m.tokens, h)
			return true
		})
		if len(live) == 0 {
			delete(m.families, familyID)
			continue
		}
		m.families[familyID] = live
	}
}
