package keyset

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// keyView is the comparable part of a Key: what a test asserts about it.
type keyView struct {
	KeyID     string
	Algorithm jose.Algorithm
	State     State
	Created   time.Time
	Activated time.Time
	Retired   time.Time
}

func view(s *Set) []keyView {
	views := make([]keyView, 0, len(s.Keys))
	for _, k := range s.Keys {
		views = append(views, keyView{
			KeyID:     k.Signing.ID,
			Algorithm: k.Signing.Algorithm,
			State:     k.State,
			Created:   k.Created,
			Activated: k.Activated,
			Retired:   k.Retired,
		})
	}
	return views
}

func mustGenerate(t testing.TB, alg jose.Algorithm) *jose.SigningKey {
	t.Helper()
	key, err := jose.GenerateKey(alg)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	return key
}

func mustPEM(t testing.TB, key *jose.SigningKey) string {
	t.Helper()
	data, err := jose.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatalf("MarshalPrivateKeyPEM: %v", err)
	}
	return string(data)
}

// sampleSet returns a valid set with a next, an active and two retiring
// keys of mixed algorithms.
func sampleSet(t testing.TB) *Set {
	t.Helper()
	return &Set{Keys: []Key{
		{Signing: mustGenerate(t, jose.ES256), State: StateNext, Created: t0.Add(-time.Hour)},
		{Signing: mustGenerate(t, jose.EdDSA), State: StateActive, Created: t0.Add(-48 * time.Hour), Activated: t0.Add(-47 * time.Hour)},
		{Signing: mustGenerate(t, jose.ES256), State: StateRetiring, Created: t0.Add(-96 * time.Hour), Activated: t0.Add(-95 * time.Hour), Retired: t0.Add(-47 * time.Hour)},
		{Signing: mustGenerate(t, jose.ES256), State: StateRetiring, Created: t0.Add(-144 * time.Hour), Activated: t0.Add(-143 * time.Hour), Retired: t0.Add(-95 * time.Hour)},
	}}
}

// encode returns the JSON members of each key of s, for a test to edit
// before it encodes the document.
func encode(t testing.TB, s *Set) []map[string]any {
	t.Helper()
	data, err := Marshal(s)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decode Marshal output: %v", err)
	}
	return doc.Keys
}

func encodeDocument(t testing.TB, keys []map[string]any) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatalf("encode document: %v", err)
	}
	return data
}

func TestParseRoundTrip(t *testing.T) {
	set := sampleSet(t)
	data, err := Marshal(set)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal(set)): %v", err)
	}
	if diff := cmp.Diff(view(set), view(got)); diff != "" {
		t.Errorf("Parse(Marshal(set)) mismatch (-want +got):\n%s", diff)
	}
	again, err := Marshal(got)
	if err != nil {
		t.Fatalf("Marshal(parsed): %v", err)
	}
	if string(again) != string(data) {
		t.Errorf("second Marshal differs:\n%s\nwant\n%s", again, data)
	}
}

func TestParseRS256(t *testing.T) {
	set := &Set{Keys: []Key{{Signing: mustGenerate(t, jose.RS256), State: StateActive, Created: t0, Activated: t0}}}
	got, err := Parse(mustMarshal(t, set))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(view(set), view(got)); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

func TestMarshalFormat(t *testing.T) {
	set := sampleSet(t)
	keys := encode(t, set)
	next, active, retiring := keys[0], keys[1], keys[2]
	if next["state"] != "next" || next["alg"] != "ES256" || next["kid"] != set.Keys[0].Signing.ID {
		t.Errorf("next key = %v, want state next, alg ES256, kid %s", next, set.Keys[0].Signing.ID)
	}
	if next["created"] != "2026-03-01T11:00:00Z" {
		t.Errorf("next created = %v, want 2026-03-01T11:00:00Z", next["created"])
	}
	if _, ok := next["activated"]; ok {
		t.Errorf("next key has activated member: %v", next)
	}
	if _, ok := active["retired"]; ok {
		t.Errorf("active key has retired member: %v", active)
	}
	if active["activated"] != "2026-02-27T13:00:00Z" {
		t.Errorf("active activated = %v, want 2026-02-27T13:00:00Z", active["activated"])
	}
	if retiring["retired"] != "2026-02-27T13:00:00Z" {
		t.Errorf("retiring retired = %v, want 2026-02-27T13:00:00Z", retiring["retired"])
	}
	pemText, _ := active["privateKey"].(string)
	if !strings.HasPrefix(pemText, "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("privateKey is not a PKCS #8 PEM block: %.40q", pemText)
	}
}

func TestParseAcceptsSEC1AndUnknownMembers(t *testing.T) {
	set := sampleSet(t)
	keys := encode(t, set)
	ec, ok := set.Keys[0].Signing.Signer.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("next key signer is %T, want *ecdsa.PrivateKey", set.Keys[0].Signing.Signer)
	}
	der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatalf("MarshalECPrivateKey: %v", err)
	}
	keys[0]["privateKey"] = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	keys[1]["comment"] = "added by a newer controller"

	got, err := Parse(encodeDocument(t, keys))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(view(set), view(got)); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	set := sampleSet(t)
	otherKey := mustPEM(t, mustGenerate(t, jose.ES256))
	tests := []struct {
		name string
		// edit changes the members of the sample set's keys: next (0),
		// active (1) and two retiring (2, 3). It returns the keys to encode.
		edit func(keys []map[string]any) []map[string]any
		want string
	}{
		{"no keys", func([]map[string]any) []map[string]any { return nil }, "0 active keys, want exactly 1"},
		{"two active keys", func(k []map[string]any) []map[string]any {
			k[2]["state"] = "active"
			delete(k[2], "retired")
			return k
		}, "2 active keys, want exactly 1"},
		{"two next keys", func(k []map[string]any) []map[string]any {
			k[2]["state"] = "next"
			delete(k[2], "retired")
			delete(k[2], "activated")
			return k
		}, "2 next keys, want at most 1"},
		{"duplicate kid", func(k []map[string]any) []map[string]any {
			return append(k, k[3])
		}, "keys 3 and 4 have the same kid"},
		{"unknown state", func(k []map[string]any) []map[string]any {
			k[3]["state"] = "retired"
			return k
		}, `unknown state "retired" (use next, active or retiring)`},
		{"missing kid", func(k []map[string]any) []map[string]any {
			delete(k[0], "kid")
			return k
		}, `key 0 (kid ""): missing "kid"`},
		{"unsupported alg", func(k []map[string]any) []map[string]any {
			k[0]["alg"] = "HS256"
			return k
		}, `unsupported signature algorithm: "HS256"`},
		{"alg does not fit key", func(k []map[string]any) []map[string]any {
			k[0]["alg"] = "EdDSA"
			return k
		}, "a ECDSA P-256 key cannot sign EdDSA"},
		{"kid is not thumbprint", func(k []map[string]any) []map[string]any {
			k[0]["privateKey"] = otherKey
			return k
		}, "kid does not match the key's RFC 7638 thumbprint"},
		{"missing private key", func(k []map[string]any) []map[string]any {
			delete(k[1], "privateKey")
			return k
		}, `key 1 (kid "` + set.Keys[1].Signing.ID + `"): missing "privateKey"`},
		{"private key not PEM", func(k []map[string]any) []map[string]any {
			k[1]["privateKey"] = "not a key"
			return k
		}, `invalid "privateKey": no PEM block found`},
		{"missing created", func(k []map[string]any) []map[string]any {
			delete(k[0], "created")
			return k
		}, `missing "created" time`},
		{"malformed time", func(k []map[string]any) []map[string]any {
			k[1]["activated"] = "2026-03-01 12:00"
			return k
		}, `invalid "activated" time "2026-03-01 12:00": use RFC 3339`},
		{"active without activated", func(k []map[string]any) []map[string]any {
			delete(k[1], "activated")
			return k
		}, `missing "activated" time, which an active key needs`},
		{"active with retired", func(k []map[string]any) []map[string]any {
			k[1]["retired"] = "2026-03-01T12:00:00Z"
			return k
		}, `an active key must not have a "retired" time`},
		{"next with activated", func(k []map[string]any) []map[string]any {
			k[0]["activated"] = "2026-03-01T12:00:00Z"
			return k
		}, `a next key must not have "activated" or "retired" times`},
		{"retiring without retired", func(k []map[string]any) []map[string]any {
			delete(k[2], "retired")
			return k
		}, `missing "activated" or "retired" time, which a retiring key needs`},
		{"too many keys", func(k []map[string]any) []map[string]any {
			for len(k) <= MaxKeys {
				k = append(k, k[3])
			}
			return k
		}, "65 keys, at most 64 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(encodeDocument(t, tt.edit(encode(t, set))))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("Parse error contains private key material: %q", err)
			}
		})
	}
}

func TestParseMalformedJSON(t *testing.T) {
	for _, tt := range []struct {
		name, data, want string
	}{
		{"empty", "", "invalid key set: EOF"},
		{"not an object", `["keys"]`, "cannot unmarshal array"},
		{"trailing data", `{"keys":[]} {}`, "trailing data after the key set"},
		{"keys not a list", `{"keys":{}}`, "cannot unmarshal object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMarshalRejectsInvalidSet(t *testing.T) {
	set := sampleSet(t)
	set.Keys[0].State = StateActive
	_, err := Marshal(set)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Marshal error = %v, want ErrInvalid", err)
	}
}

func TestValidateRejectsKeyWithoutSigner(t *testing.T) {
	set := sampleSet(t)
	set.Keys[2].Signing = nil
	err := set.Validate()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "key 2 has no signing key") {
		t.Errorf("Validate error = %v, want ErrInvalid naming key 2", err)
	}
}

func TestActivePublishedCount(t *testing.T) {
	set := sampleSet(t)
	// Put the keys out of state order to show that Published sorts by state.
	set.Keys[0], set.Keys[3] = set.Keys[3], set.Keys[0]

	if got, want := set.Active().ID, set.Keys[1].Signing.ID; got != want {
		t.Errorf("Active().ID = %q, want %q", got, want)
	}
	var got []string
	for _, k := range set.Published() {
		got = append(got, k.ID)
	}
	want := []string{set.Keys[3].Signing.ID, set.Keys[1].Signing.ID, set.Keys[0].Signing.ID, set.Keys[2].Signing.ID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Published kids mismatch (-want +got):\n%s", diff)
	}
	counts := map[State]int{StateNext: set.Count(StateNext), StateActive: set.Count(StateActive), StateRetiring: set.Count(StateRetiring)}
	if diff := cmp.Diff(map[State]int{StateNext: 1, StateActive: 1, StateRetiring: 2}, counts); diff != "" {
		t.Errorf("Count mismatch (-want +got):\n%s", diff)
	}
	jwks, err := jose.MarshalJWKS(set.Published())
	if err != nil {
		t.Fatalf("MarshalJWKS(Published()): %v", err)
	}
	if _, err := jose.ParseJWKS(jwks); err != nil {
		t.Errorf("ParseJWKS of the published keys: %v", err)
	}
}

func TestActiveOfEmptySet(t *testing.T) {
	if got := (&Set{}).Active(); got != nil {
		t.Errorf("Active() of an empty set = %v, want nil", got)
	}
}
