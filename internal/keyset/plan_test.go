package keyset

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

var testPolicy = Policy{
	Algorithm:      jose.ES256,
	RotationPeriod: 720 * time.Hour,
	PublishLead:    10 * time.Minute,
	RetireAfter:    24*time.Hour + 5*time.Minute,
}

// recordingGenerator generates real keys and records them in order, so
// that a test can name the keys that Plan added.
type recordingGenerator struct {
	t         testing.TB
	generated []*jose.SigningKey
}

func (g *recordingGenerator) generate(alg jose.Algorithm) (*jose.SigningKey, error) {
	key := mustGenerate(g.t, alg)
	g.generated = append(g.generated, key)
	return key, nil
}

func (g *recordingGenerator) kid(i int) string {
	g.t.Helper()
	if i >= len(g.generated) {
		g.t.Fatalf("generator made %d keys, test expects key %d", len(g.generated), i)
	}
	return g.generated[i].ID
}

func mustPlan(t *testing.T, set *Set, now time.Time, p Policy, g *recordingGenerator) (*Set, bool, time.Time) {
	t.Helper()
	next, changed, due, err := Plan(set, now, p, g.generate)
	if err != nil {
		t.Fatalf("Plan at %s: %v", now, err)
	}
	return next, changed, due
}

func TestPlanMissingSet(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  *Set
	}{
		{"nil", nil},
		{"no keys", &Set{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &recordingGenerator{t: t}
			got, changed, due := mustPlan(t, tt.set, t0.Add(-400*time.Millisecond), testPolicy, g)
			if !changed {
				t.Error("changed = false, want true")
			}
			want := []keyView{
				{KeyID: g.kid(1), Algorithm: jose.ES256, State: StateNext, Created: t0},
				{KeyID: g.kid(0), Algorithm: jose.ES256, State: StateActive, Created: t0, Activated: t0},
			}
			if diff := cmp.Diff(want, view(got)); diff != "" {
				t.Errorf("set mismatch (-want +got):\n%s", diff)
			}
			if wantDue := t0.Add(testPolicy.RotationPeriod); !due.Equal(wantDue) {
				t.Errorf("due = %s, want %s", due, wantDue)
			}
		})
	}
}

func TestPlanRotationBoundary(t *testing.T) {
	g := &recordingGenerator{t: t}
	initial, _, _ := mustPlan(t, nil, t0, testPolicy, g)
	rotateAt := t0.Add(testPolicy.RotationPeriod)

	steady, changed, due := mustPlan(t, initial, rotateAt.Add(-time.Second), testPolicy, g)
	if changed {
		t.Errorf("one second before the period: changed = true, want false; set %v", view(steady))
	}
	if diff := cmp.Diff(view(initial), view(steady)); diff != "" {
		t.Errorf("one second before the period: set changed (-want +got):\n%s", diff)
	}
	if !due.Equal(rotateAt) {
		t.Errorf("due = %s, want %s", due, rotateAt)
	}

	rotated, changed, due := mustPlan(t, initial, rotateAt, testPolicy, g)
	if !changed {
		t.Fatal("at the period: changed = false, want true")
	}
	want := []keyView{
		{KeyID: g.kid(2), Algorithm: jose.ES256, State: StateNext, Created: rotateAt},
		{KeyID: g.kid(1), Algorithm: jose.ES256, State: StateActive, Created: t0, Activated: rotateAt},
		{KeyID: g.kid(0), Algorithm: jose.ES256, State: StateRetiring, Created: t0, Activated: t0, Retired: rotateAt},
	}
	if diff := cmp.Diff(want, view(rotated)); diff != "" {
		t.Errorf("rotated set mismatch (-want +got):\n%s", diff)
	}
	if wantDue := rotateAt.Add(testPolicy.RetireAfter); !due.Equal(wantDue) {
		t.Errorf("due after rotation = %s, want the retiring key's end %s", due, wantDue)
	}
}

func TestPlanWaitsForPublishLead(t *testing.T) {
	g := &recordingGenerator{t: t}
	active := mustGenerate(t, jose.ES256)
	next := mustGenerate(t, jose.ES256)
	nextCreated := t0.Add(testPolicy.RotationPeriod - time.Minute)
	set := &Set{Keys: []Key{
		{Signing: next, State: StateNext, Created: nextCreated},
		{Signing: active, State: StateActive, Created: t0, Activated: t0},
	}}
	publishedAt := nextCreated.Add(testPolicy.PublishLead)

	// The rotation period is over, but the next key is new.
	got, changed, due := mustPlan(t, set, t0.Add(testPolicy.RotationPeriod), testPolicy, g)
	if changed {
		t.Errorf("at the end of the period, before the lead ends: changed = true; set %v", view(got))
	}
	if !due.Equal(publishedAt) {
		t.Errorf("due = %s, want the end of the publish lead %s", due, publishedAt)
	}
	_, changed, _ = mustPlan(t, set, publishedAt.Add(-time.Second), testPolicy, g)
	if changed {
		t.Error("one second before the lead ends: changed = true, want false")
	}
	got, changed, _ = mustPlan(t, set, publishedAt, testPolicy, g)
	if !changed {
		t.Fatal("when the lead ends: changed = false, want true")
	}
	if got.Active().ID != next.ID {
		t.Errorf("active kid = %q, want the former next key %q", got.Active().ID, next.ID)
	}
}

func TestPlanDropsRetiringKeys(t *testing.T) {
	g := &recordingGenerator{t: t}
	next := mustGenerate(t, jose.ES256)
	active := mustGenerate(t, jose.ES256)
	older := mustGenerate(t, jose.ES256)
	newer := mustGenerate(t, jose.ES256)
	olderRetired := t0.Add(-2 * time.Hour)
	newerRetired := t0.Add(-time.Hour)
	set := &Set{Keys: []Key{
		{Signing: next, State: StateNext, Created: t0.Add(-time.Hour)},
		{Signing: active, State: StateActive, Created: t0.Add(-2 * time.Hour), Activated: newerRetired},
		{Signing: older, State: StateRetiring, Created: t0.Add(-9 * time.Hour), Activated: t0.Add(-9 * time.Hour), Retired: olderRetired},
		{Signing: newer, State: StateRetiring, Created: t0.Add(-3 * time.Hour), Activated: olderRetired, Retired: newerRetired},
	}}
	dropOlder := olderRetired.Add(testPolicy.RetireAfter)
	dropNewer := newerRetired.Add(testPolicy.RetireAfter)

	tests := []struct {
		name      string
		now       time.Time
		wantKids  []string
		wantDue   time.Time
		wantDirty bool
	}{
		{"before the first end", dropOlder.Add(-time.Second), []string{next.ID, active.ID, newer.ID, older.ID}, dropOlder, false},
		{"at the first end", dropOlder, []string{next.ID, active.ID, newer.ID}, dropNewer, true},
		{"at the second end", dropNewer, []string{next.ID, active.ID}, newerRetired.Add(testPolicy.RotationPeriod), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, due := mustPlan(t, set, tt.now, testPolicy, g)
			if changed != tt.wantDirty {
				t.Errorf("changed = %t, want %t", changed, tt.wantDirty)
			}
			var kids []string
			for _, k := range got.Keys {
				kids = append(kids, k.Signing.ID)
			}
			if diff := cmp.Diff(tt.wantKids, kids); diff != "" {
				t.Errorf("kids mismatch (-want +got):\n%s", diff)
			}
			if !due.Equal(tt.wantDue) {
				t.Errorf("due = %s, want %s", due, tt.wantDue)
			}
		})
	}
}

func TestPlanAddsMissingNextKey(t *testing.T) {
	g := &recordingGenerator{t: t}
	active := mustGenerate(t, jose.ES256)
	set := &Set{Keys: []Key{{Signing: active, State: StateActive, Created: t0, Activated: t0}}}
	// The active key is long overdue, but the next key must first be
	// published for the lead.
	now := t0.Add(3 * testPolicy.RotationPeriod)

	got, changed, due := mustPlan(t, set, now, testPolicy, g)
	if !changed {
		t.Error("changed = false, want true")
	}
	want := []keyView{
		{KeyID: g.kid(0), Algorithm: jose.ES256, State: StateNext, Created: now},
		{KeyID: active.ID, Algorithm: jose.ES256, State: StateActive, Created: t0, Activated: t0},
	}
	if diff := cmp.Diff(want, view(got)); diff != "" {
		t.Errorf("set mismatch (-want +got):\n%s", diff)
	}
	if wantDue := now.Add(testPolicy.PublishLead); !due.Equal(wantDue) {
		t.Errorf("due = %s, want %s", due, wantDue)
	}
}

func TestPlanChangesAlgorithm(t *testing.T) {
	g := &recordingGenerator{t: t}
	initial, _, _ := mustPlan(t, nil, t0, testPolicy, g)
	edPolicy := testPolicy
	edPolicy.Algorithm = jose.EdDSA
	changeAt := t0.Add(time.Hour)

	// The ES256 next key never signed, so it is replaced at once. The
	// ES256 active key keeps signing until the normal rotation.
	replaced, changed, due := mustPlan(t, initial, changeAt, edPolicy, g)
	if !changed {
		t.Error("after the algorithm change: changed = false, want true")
	}
	want := []keyView{
		{KeyID: g.kid(2), Algorithm: jose.EdDSA, State: StateNext, Created: changeAt},
		{KeyID: g.kid(0), Algorithm: jose.ES256, State: StateActive, Created: t0, Activated: t0},
	}
	if diff := cmp.Diff(want, view(replaced)); diff != "" {
		t.Errorf("set after the algorithm change mismatch (-want +got):\n%s", diff)
	}
	rotateAt := t0.Add(testPolicy.RotationPeriod)
	if !due.Equal(rotateAt) {
		t.Errorf("due = %s, want %s", due, rotateAt)
	}

	rotated, _, _ := mustPlan(t, replaced, rotateAt, edPolicy, g)
	want = []keyView{
		{KeyID: g.kid(3), Algorithm: jose.EdDSA, State: StateNext, Created: rotateAt},
		{KeyID: g.kid(2), Algorithm: jose.EdDSA, State: StateActive, Created: changeAt, Activated: rotateAt},
		{KeyID: g.kid(0), Algorithm: jose.ES256, State: StateRetiring, Created: t0, Activated: t0, Retired: rotateAt},
	}
	if diff := cmp.Diff(want, view(rotated)); diff != "" {
		t.Errorf("set after rotation mismatch (-want +got):\n%s", diff)
	}
}

func TestPlanSortsAndKeepsInput(t *testing.T) {
	g := &recordingGenerator{t: t}
	set := sampleSet(t)
	set.Keys[0], set.Keys[3] = set.Keys[3], set.Keys[0]
	before := view(set)

	got, changed, _ := mustPlan(t, set, t0, Policy{Algorithm: jose.ES256, RotationPeriod: 720 * time.Hour, PublishLead: time.Minute, RetireAfter: 200 * time.Hour}, g)
	if changed {
		t.Errorf("changed = true for a set that only had another order")
	}
	if diff := cmp.Diff(before, view(set)); diff != "" {
		t.Errorf("Plan modified its input (-before +after):\n%s", diff)
	}
	var states []State
	var retired []time.Time
	for _, k := range got.Keys {
		states = append(states, k.State)
		retired = append(retired, k.Retired)
	}
	if diff := cmp.Diff([]State{StateNext, StateActive, StateRetiring, StateRetiring}, states); diff != "" {
		t.Errorf("states mismatch (-want +got):\n%s", diff)
	}
	if !retired[2].After(retired[3]) {
		t.Errorf("retiring keys retired at %s then %s, want the most recent first", retired[2], retired[3])
	}
}

func TestPlanRoundsTimesUp(t *testing.T) {
	g := &recordingGenerator{t: t}
	p := testPolicy
	p.RotationPeriod = time.Hour + 300*time.Millisecond
	initial, _, due := mustPlan(t, nil, t0.Add(-700*time.Millisecond), p, g)
	if got := initial.Keys[1].Activated; !got.Equal(t0) {
		t.Errorf("activated = %s, want %s (rounded up to a whole second)", got, t0)
	}
	wantDue := t0.Add(p.RotationPeriod)
	if !due.Equal(wantDue) {
		t.Errorf("due = %s, want %s", due, wantDue)
	}

	_, changed, _ := mustPlan(t, initial, wantDue.Add(-time.Nanosecond), p, g)
	if changed {
		t.Error("a nanosecond before due: changed = true, want false")
	}
	rotated, changed, _ := mustPlan(t, initial, wantDue, p, g)
	if !changed {
		t.Fatal("at due: changed = false, want true")
	}
	if got, want := rotated.Keys[2].Retired, t0.Add(time.Hour+time.Second); !got.Equal(want) {
		t.Errorf("retired = %s, want %s (rounded up to a whole second)", got, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Policy)
		want   string
	}{
		{"unknown algorithm", func(p *Policy) { p.Algorithm = "HS256" }, `unsupported signature algorithm: "HS256"`},
		{"missing algorithm", func(p *Policy) { p.Algorithm = "" }, `unsupported signature algorithm: ""`},
		{"zero period", func(p *Policy) { p.RotationPeriod = 0 }, "must all be positive"},
		{"negative lead", func(p *Policy) { p.PublishLead = -time.Second }, "must all be positive"},
		{"zero retire-after", func(p *Policy) { p.RetireAfter = 0 }, "must all be positive"},
		{"retire-after too long", func(p *Policy) { p.RetireAfter = 62 * p.RotationPeriod }, "more than 61 rotation periods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy
			tt.change(&p)
			_, _, _, err := Plan(nil, t0, p, jose.GenerateKey)
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Plan error = %v, want ErrInvalidPolicy", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
	p := testPolicy
	p.RetireAfter = 61 * p.RotationPeriod
	if err := p.Validate(); err != nil {
		t.Errorf("Validate with retire-after of 61 periods: %v, want nil", err)
	}
}

func TestPlanRejectsInvalidSet(t *testing.T) {
	set := sampleSet(t)
	set.Keys[0].State = StateActive
	_, _, _, err := Plan(set, t0, testPolicy, jose.GenerateKey)
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Plan error = %v, want ErrInvalid", err)
	}
}

func TestPlanGeneratorFailures(t *testing.T) {
	failing := func(jose.Algorithm) (*jose.SigningKey, error) { return nil, errors.New("entropy source closed") }
	wrongAlg := func(jose.Algorithm) (*jose.SigningKey, error) { return jose.GenerateKey(jose.EdDSA) }
	tests := []struct {
		name     string
		generate GenerateFunc
		want     string
	}{
		{"error", failing, "generate ES256 signing key: entropy source closed"},
		{"other algorithm", wrongAlg, "the generator returned a key without a kid or of another algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := Plan(nil, t0, testPolicy, tt.generate)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestPlanSimulation runs Plan through many rotations, at each due time and
// at random times between, and checks the guarantees that verifiers rely on:
// a key is published for PublishLead before it signs, and for RetireAfter
// after it stopped signing.
func TestPlanSimulation(t *testing.T) {
	p := Policy{Algorithm: jose.EdDSA, RotationPeriod: 6 * time.Hour, PublishLead: 10 * time.Minute, RetireAfter: 13 * time.Hour}
	g := &recordingGenerator{t: t}
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		set       *Set
		now       = t0.Add(123 * time.Millisecond)
		published = map[string]time.Time{} // when Plan first returned each key
		stopped   = map[string]time.Time{} // when each key stopped being active
	)
	for step := 0; step < 400; step++ {
		next, changed, due, err := Plan(set, now, p, g.generate)
		if err != nil {
			t.Fatalf("step %d at %s: %v", step, now, err)
		}
		if !due.After(now) {
			t.Fatalf("step %d: due %s is not after now %s", step, due, now)
		}
		if _, err := Parse(mustMarshal(t, next)); err != nil {
			t.Fatalf("step %d: Parse(Marshal(plan)): %v", step, err)
		}
		if set != nil && !changed {
			if diff := cmp.Diff(view(set), view(next)); diff != "" {
				t.Fatalf("step %d: changed = false but the set differs:\n%s", step, diff)
			}
		}
		present := map[string]bool{}
		for _, k := range next.Keys {
			present[k.Signing.ID] = true
			if _, ok := published[k.Signing.ID]; !ok {
				published[k.Signing.ID] = now
			}
		}
		if set != nil {
			checkStep(t, step, now, p, set, next, published, stopped, present)
		}
		set = next
		if rng.IntN(2) == 0 {
			now = due
		} else {
			now = now.Add(time.Duration(rng.Int64N(int64(due.Sub(now))) + 1))
		}
	}
	if rotations := len(stopped); rotations < 10 {
		t.Errorf("simulation made %d rotations, want at least 10", rotations)
	}
	if n := len(set.Keys); n < 3 {
		t.Errorf("set has %d keys after many rotations, want a next, an active and a retiring key at least", n)
	}
}

// checkStep compares the set before and after one Plan call at now.
func checkStep(t *testing.T, step int, now time.Time, p Policy, before, after *Set, published, stopped map[string]time.Time, present map[string]bool) {
	t.Helper()
	// Retirements are at least a period apart, which bounds the retiring keys.
	if limit := int(p.RetireAfter/p.RotationPeriod) + 3; len(after.Keys) > limit {
		t.Fatalf("step %d: %d keys, want at most %d", step, len(after.Keys), limit)
	}
	old, cur := before.Active().ID, after.Active().ID
	if cur != old {
		stopped[old] = now
		if lead := now.Sub(published[cur]); lead < p.PublishLead {
			t.Fatalf("step %d: key %s signs at %s, %s after it was published", step, cur, now, lead)
		}
	}
	for _, k := range before.Keys {
		id := k.Signing.ID
		if present[id] {
			continue
		}
		end, ok := stopped[id]
		if !ok {
			t.Fatalf("step %d: key %s dropped without having signed", step, id)
		}
		if retiredFor := now.Sub(end); retiredFor < p.RetireAfter {
			t.Fatalf("step %d: key %s dropped %s after it stopped signing", step, id, retiredFor)
		}
	}
}

func mustMarshal(t testing.TB, s *Set) []byte {
	t.Helper()
	data, err := Marshal(s)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return data
}

func ExamplePlan() {
	p := Policy{Algorithm: jose.EdDSA, RotationPeriod: 720 * time.Hour, PublishLead: 10 * time.Minute, RetireAfter: 24 * time.Hour}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	set, _, due, err := Plan(nil, now, p, jose.GenerateKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	set, _, due, err = Plan(set, due, p, jose.GenerateKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(set.Count(StateNext), set.Count(StateActive), set.Count(StateRetiring), due)
	// Output: 1 1 1 2026-04-01 12:00:00 +0000 UTC
}
