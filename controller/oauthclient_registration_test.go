package controller

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

func TestRegistrationSecretName(t *testing.T) {
	tests := []struct {
		name      string
		namespace string
		client    string
	}{
		{name: "short", namespace: "team-a", client: "shop"},
		{name: "max length name", namespace: strings.Repeat("n", 63), client: strings.Repeat("c", 253)},
		{name: "dotted name", namespace: "team", client: "a.b"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RegistrationSecretName(tt.namespace, tt.client)
			if got != RegistrationSecretName(tt.namespace, tt.client) {
				t.Errorf("got two names for %s/%s, want one stable name", tt.namespace, tt.client)
			}
			if len(got) != len("oauthclient-")+32 {
				t.Errorf("got name %q of %d characters, want %d", got, len(got), len("oauthclient-")+32)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("got name %s for both %s and %s/%s, want distinct names", got, other, tt.namespace, tt.client)
			}
			seen[got] = tt.namespace + "/" + tt.client
		})
	}
}

func TestClientIDDistinct(t *testing.T) {
	// A namespace is a DNS label without dots, so a dotted name cannot make
	// two resources share a client ID.
	pairs := [][2]string{{"team-a", "shop"}, {"team-b", "shop"}, {"team", "a.shop"}, {"team-a", "shop.x"}}
	seen := map[string][2]string{}
	for _, p := range pairs {
		id := ClientID(p[0], p[1])
		if other, ok := seen[id]; ok {
			t.Errorf("got client ID %q for both %v and %v, want distinct IDs", id, other, p)
		}
		seen[id] = p
	}
}

func TestValidSecret(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		want   bool
	}{
		{name: "generated", secret: newSecret(), want: true},
		{name: "empty", secret: "", want: false},
		{name: "short", secret: "password123", want: false},
		{name: "padded", secret: newSecret() + "=", want: false},
		{name: "standard alphabet", secret: strings.Repeat("+", 43), want: false},
		{name: "too long", secret: newSecret() + "AAAA", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validSecret([]byte(tt.secret)); got != tt.want {
				t.Errorf("got validSecret %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewSecretDistinct(t *testing.T) {
	first, second := newSecret(), newSecret()
	if first == second {
		t.Errorf("got the same secret twice, want random secrets")
	}
}

func TestEncodeRegistration(t *testing.T) {
	c := clients.Client{
		ID:              "team.orders",
		SecretHashes:    []string{clients.HashSecret("s3cret")},
		GrantTypes:      []clients.GrantType{clients.GrantClientCredentials},
		Scopes:          []string{"orders:read"},
		Audiences:       []string{"orders-api"},
		AccessTokenTTL:  10 * time.Minute,
		RefreshIdleTTL:  90 * time.Second,
		RefreshTokenTTL: 0,
	}
	data, err := encodeRegistration(c)
	if err != nil {
		t.Fatalf("encode registration: %v", err)
	}
	want := `clients:
- accessTokenTTL: 10m0s
  audiences:
  - orders-api
  clientID: team.orders
  grantTypes:
  - client_credentials
  refreshTokenIdleTTL: 1m30s
  scopes:
  - orders:read
  secretHashes:
  - sha256:` + strings.TrimPrefix(clients.HashSecret("s3cret"), "sha256:") + "\n"
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("registration mismatch (-want +got):\n%s", diff)
	}
}

// FuzzEncodeRegistration checks that any client the issuer accepts
// survives the trip through the registration YAML unchanged, so that a
// scope or audience from an app team cannot add or alter fields.
func FuzzEncodeRegistration(f *testing.F) {
	f.Add("team.orders", "orders:read", "orders-api", false)
	f.Add("ns.a", "x\ny: z", "aud: injected\nclientID: other", true)
	f.Add("ns.b", "- '#", "\"quoted\"", false)
	f.Fuzz(func(t *testing.T, id, scopeToken, audience string, public bool) {
		c := clients.Client{
			ID:         id,
			Public:     public,
			GrantTypes: []clients.GrantType{clients.GrantPassword},
			Scopes:     []string{scopeToken},
			Audiences:  []string{audience},
		}
		if !public {
			c.SecretHashes = []string{clients.HashSecret(id)}
		}
		if c.Validate() != nil {
			return
		}
		data, err := encodeRegistration(c)
		if !utf8.ValidString(id + scopeToken + audience) {
			if !errors.Is(err, errInvalidUTF8) {
				t.Fatalf("got error %v for invalid UTF-8, want errInvalidUTF8", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("encode registration: %v", err)
		}
		var file registrationFile
		if err := yaml.UnmarshalStrict(data, &file); err != nil {
			t.Fatalf("decode registration %q: %v", data, err)
		}
		want := registrationFile{Clients: []registrationClient{{
			ClientID: id, SecretHashes: c.SecretHashes, Public: public,
			GrantTypes: c.GrantTypes, Scopes: c.Scopes, Audiences: c.Audiences,
		}}}
		if diff := cmp.Diff(want, file); diff != "" {
			t.Errorf("registration round trip mismatch (-want +got):\n%s", diff)
		}
	})
}
