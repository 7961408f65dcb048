package keyset

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// ErrInvalidPolicy reports a Policy that Plan cannot follow.
var ErrInvalidPolicy = errors.New("invalid key rotation policy")

// Policy sets how keys rotate.
type Policy struct {
	// Algorithm is the algorithm of every key that Plan generates. Keys of
	// another algorithm leave the set through the normal rotation.
	Algorithm jose.Algorithm
	// RotationPeriod is how long a key stays active before the next key
	// replaces it.
	RotationPeriod time.Duration
	// PublishLead is the minimum time a next key is published before it
	// becomes active, so that verifiers that cache the JWKS know it before
	// it signs.
	PublishLead time.Duration
	// RetireAfter is how long a retired key stays published. It must be at
	// least the longest token lifetime plus the verifiers' clock leeway.
	RetireAfter time.Duration
}

// Validate reports a policy with an unsupported algorithm, a duration that is
// not positive, or a RetireAfter so long compared with RotationPeriod that
// the set could outgrow MaxKeys. Errors wrap ErrInvalidPolicy.
func (p Policy) Validate() error {
	if _, err := jose.ParseAlgorithm(string(p.Algorithm)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	if p.RotationPeriod <= 0 || p.PublishLead <= 0 || p.RetireAfter <= 0 {
		return fmt.Errorf("%w: rotation period %s, publish lead %s and retire-after %s must all be positive",
			ErrInvalidPolicy, p.RotationPeriod, p.PublishLead, p.RetireAfter)
	}
	// Retirements are at least one rotation period apart, so at most
	// RetireAfter/RotationPeriod + 1 retiring keys are published at once,
	// next to the active and the next key.
	if p.RetireAfter/p.RotationPeriod+3 > MaxKeys {
		return fmt.Errorf("%w: retire-after %s is more than %d rotation periods of %s, so the key set could exceed %d keys: lengthen the rotation period or shorten retire-after",
			ErrInvalidPolicy, p.RetireAfter, MaxKeys-3, p.RotationPeriod, MaxKeys)
	}
	return nil
}

// GenerateFunc creates a new private key for an algorithm. Outside tests it
// is jose.GenerateKey.
type GenerateFunc func(jose.Algorithm) (*jose.SigningKey, error)

// Plan returns the key set that should exist at now, whether it differs from
// set, and when Plan should run again because the returned set will change.
// It never modifies set. A nil or empty set is missing.
//
// The steps, each taken once now reaches its time:
//   - A missing set becomes an active and a next key, both created now. The
//     first active key signs at once, because nothing else could.
//   - A retiring key retired RetireAfter or more ago is dropped.
//   - A missing next key is generated. A next key whose algorithm differs
//     from p.Algorithm is replaced, which is safe because it never signed.
//   - Rotation waits until the active key was activated RotationPeriod or more
//     ago and the next key was created PublishLead or more ago. Then the
//     active key becomes retiring (retired now), the next key becomes active
//     (activated now), and a new next key is generated.
//
// The times Plan writes are now rounded up to a whole second, as Marshal
// stores them. Rounding up only delays each step, so a key is always
// published for at least PublishLead before it signs and for at least
// RetireAfter after it stopped. The returned set lists its keys as next,
// active, then retiring with the most recently retired first.
func Plan(set *Set, now time.Time, p Policy, generate GenerateFunc) (next *Set, changed bool, due time.Time, err error) {
	if err := p.Validate(); err != nil {
		return nil, false, time.Time{}, err
	}
	stamp := ceilSecond(now)
	if set == nil || len(set.Keys) == 0 {
		next, err = initialSet(stamp, p.Algorithm, generate)
		if err != nil {
			return nil, false, time.Time{}, err
		}
		return next, true, dueTime(next, p), nil
	}
	if err := set.Validate(); err != nil {
		return nil, false, time.Time{}, err
	}
	next = &Set{Keys: slices.Clone(set.Keys)}
	changed = dropExpired(next, now, p.RetireAfter)
	added, err := ensureNext(next, stamp, p.Algorithm, generate)
	if err != nil {
		return nil, false, time.Time{}, err
	}
	rotated, err := rotate(next, now, stamp, p, generate)
	if err != nil {
		return nil, false, time.Time{}, err
	}
	changed = changed || added || rotated
	sortKeys(next)
	return next, changed, dueTime(next, p), nil
}

// ceilSecond returns t in UTC, rounded up to a whole second.
func ceilSecond(t time.Time) time.Time {
	t = t.UTC()
	if rounded := t.Truncate(time.Second); rounded.Before(t) {
		return rounded.Add(time.Second)
	}
	return t
}

func initialSet(now time.Time, alg jose.Algorithm, generate GenerateFunc) (*Set, error) {
	active, err := generateKey(alg, generate)
	if err != nil {
		return nil, err
	}
	next, err := generateKey(alg, generate)
	if err != nil {
		return nil, err
	}
	return &Set{Keys: []Key{
		{Signing: next, State: StateNext, Created: now},
		{Signing: active, State: StateActive, Created: now, Activated: now},
	}}, nil
}

// generateKey calls generate and checks that the key it returns fits the
// set: the requested algorithm and a kid.
func generateKey(alg jose.Algorithm, generate GenerateFunc) (*jose.SigningKey, error) {
	key, err := generate(alg)
	if err != nil {
		return nil, fmt.Errorf("generate %s signing key: %w", alg, err)
	}
	if key == nil || key.ID == "" || key.Algorithm != alg {
		return nil, fmt.Errorf("generate %s signing key: the generator returned a key without a kid or of another algorithm", alg)
	}
	return key, nil
}

// dropExpired removes the retiring keys retired at least retireAfter before
// now and reports whether it removed any.
func dropExpired(s *Set, now time.Time, retireAfter time.Duration) bool {
	before := len(s.Keys)
	s.Keys = slices.DeleteFunc(s.Keys, func(k Key) bool {
		return k.State == StateRetiring && !now.Before(k.Retired.Add(retireAfter))
	})
	return len(s.Keys) != before
}

// ensureNext adds a next key if s has none, or replaces a next key of
// another algorithm than alg, and reports whether it changed s.
func ensureNext(s *Set, now time.Time, alg jose.Algorithm, generate GenerateFunc) (bool, error) {
	i := slices.IndexFunc(s.Keys, func(k Key) bool { return k.State == StateNext })
	if i >= 0 && s.Keys[i].Signing.Algorithm == alg {
		return false, nil
	}
	key, err := generateKey(alg, generate)
	if err != nil {
		return false, err
	}
	fresh := Key{Signing: key, State: StateNext, Created: now}
	if i >= 0 {
		s.Keys[i] = fresh
		return true, nil
	}
	s.Keys = append(s.Keys, fresh)
	return true, nil
}

// rotate promotes the next key once rotationDue allows it at now, stamps the
// changes with stamp, and reports whether it rotated.
func rotate(s *Set, now, stamp time.Time, p Policy, generate GenerateFunc) (bool, error) {
	if now.Before(rotationDue(s, p)) {
		return false, nil
	}
	key, err := generateKey(p.Algorithm, generate)
	if err != nil {
		return false, err
	}
	for i := range s.Keys {
		switch s.Keys[i].State {
		case StateActive:
			s.Keys[i].State = StateRetiring
			s.Keys[i].Retired = stamp
		case StateNext:
			s.Keys[i].State = StateActive
			s.Keys[i].Activated = stamp
		}
	}
	s.Keys = append(s.Keys, Key{Signing: key, State: StateNext, Created: stamp})
	return true, nil
}

// rotationDue returns when the next key may replace the active key: once the
// active key has served RotationPeriod and the next key has been published
// for PublishLead. Without a next key it returns maxTime, because ensureNext
// must add one first.
func rotationDue(s *Set, p Policy) time.Time {
	var activated, created time.Time
	hasNext := false
	for _, k := range s.Keys {
		switch k.State {
		case StateActive:
			activated = k.Activated
		case StateNext:
			created, hasNext = k.Created, true
		}
	}
	if !hasNext {
		return maxTime
	}
	due := activated.Add(p.RotationPeriod)
	if published := created.Add(p.PublishLead); published.After(due) {
		return published
	}
	return due
}

// maxTime is later than any time Plan computes.
var maxTime = time.Unix(1<<62, 0)

// dueTime returns the earliest time at which Plan would change s: the
// rotation or the end of a retiring key's RetireAfter.
func dueTime(s *Set, p Policy) time.Time {
	due := rotationDue(s, p)
	for _, k := range s.Keys {
		if k.State != StateRetiring {
			continue
		}
		if drop := k.Retired.Add(p.RetireAfter); drop.Before(due) {
			due = drop
		}
	}
	return due
}

// sortKeys orders the keys as next, active, then retiring with the most
// recently retired first, and kid as the tie-breaker, so that a written set
// does not depend on the order of an edited input.
func sortKeys(s *Set) {
	rank := map[State]int{StateNext: 0, StateActive: 1, StateRetiring: 2}
	slices.SortStableFunc(s.Keys, func(a, b Key) int {
		if d := rank[a.State] - rank[b.State]; d != 0 {
			return d
		}
		if c := b.Retired.Compare(a.Retired); c != 0 {
			return c
		}
		return strings.Compare(a.Signing.ID, b.Signing.ID)
	})
}
