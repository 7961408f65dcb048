package clients

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const validFile = `
clients:
  - clientID: demo-client
    secretHashes: ["sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"]
    grantTypes: [password, client_credentials, refresh_token]
    scopes: [openid, profile, orders:read]
    audiences: [demo-api]
    accessTokenTTL: 5m
    refreshTokenTTL: 1h
  - clientID: spa
    public: true
    grantTypes: [password, refresh_token]
    audiences: [demo-api, other-api]
`

func TestParseFileValid(t *testing.T) {
	got, err := parseFile([]byte(validFile))
	if err != nil {
		t.Fatalf("parseFile: %v", err)
	}
	want := set{
		"demo-client": {
			ID:              "demo-client",
			SecretHashes:    []string{HashSecret("secret")},
			GrantTypes:      []GrantType{GrantPassword, GrantClientCredentials, GrantRefreshToken},
			Scopes:          []string{"openid", "profile", "orders:read"},
			Audiences:       []string{"demo-api"},
			AccessTokenTTL:  5 * time.Minute,
			RefreshTokenTTL: time.Hour,
		},
		"spa": {
			ID:         "spa",
			Public:     true,
			GrantTypes: []GrantType{GrantPassword, GrantRefreshToken},
			Audiences:  []string{"demo-api", "other-api"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseFile mismatch (-want +got):\n%s", diff)
	}
}

func TestParseFileRejects(t *testing.T) {
	const hash = "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
	tests := []struct {
		name string
		yaml string
		// wantText must appear in the error: the client and the field.
		wantText string
	}{
		{
			name:     "unknown field",
			yaml:     "clients:\n- clientID: a\n  secretHash: [x]\n",
			wantText: `unknown field "secretHash"`,
		},
		{
			name:     "unknown top-level field",
			yaml:     "clients: []\nusers: []\n",
			wantText: `unknown field "users"`,
		},
		{
			name:     "missing client ID",
			yaml:     "clients:\n- secretHashes: [" + hash + "]\n  grantTypes: [password]\n  audiences: [x]\n",
			wantText: "clients[0]: invalid client: clientID: missing",
		},
		{
			name:     "unknown grant type",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [" + hash + "]\n  grantTypes: [password, implicit]\n  audiences: [x]\n",
			wantText: `client "a": grantTypes[1]: unknown grant type "implicit"`,
		},
		{
			name:     "no grant types",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [" + hash + "]\n  audiences: [x]\n",
			wantText: `client "a": grantTypes: missing`,
		},
		{
			name:     "malformed scope",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [" + hash + "]\n  grantTypes: [password]\n  scopes: [ok, 'has space']\n  audiences: [x]\n",
			wantText: `client "a": scopes[1]: "has space" is not a valid scope token`,
		},
		{
			name:     "duplicate scope",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [" + hash + "]\n  grantTypes: [password]\n  scopes: [ok, ok]\n  audiences: [x]\n",
			wantText: `client "a": scopes[1]: duplicate scope "ok"`,
		},
		{
			name:     "secret hash without prefix",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b]\n  grantTypes: [password]\n  audiences: [x]\n",
			wantText: `client "a": secretHashes[0]: want "sha256:" followed by 64 hex digits`,
		},
		{
			name:     "secret hash too short",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [" + hash + ", 'sha256:abc']\n  grantTypes: [password]\n  audiences: [x]\n",
			wantText: `client "a": secretHashes[1]: want "sha256:" followed by 64 hex digits`,
		},
		{
			name:     "secret hash not hex",
			yaml:     "clients:\n- clientID: a\n  secretHashes: ['sha256:" + strings.Repeat("g", 64) + "']\n  grantTypes: [password]\n  audiences: [x]\n",
			wantText: `client "a": secretHashes[0]`,
		},
		{
			name:     "confidential without secret",
			yaml:     "clients:\n- clientID: a\n  grantTypes: [password]\n  audiences: [x]\n",
			wantText: `client "a": secretHashes: missing for a confidential client`,
		},
		{
			name:     "public with secret",
			yaml:     "clients:\n- clientID: a\n  public: true\n  secretHashes: [" + hash + "]\n  grantTypes: [password]\n  audiences: [x]\n",
			wantText: `client "a": secretHashes: a public client has no secret`,
		},
		{
			name:     "public with client_credentials",
			yaml:     "clients:\n- clientID: a\n  public: true\n  grantTypes: [client_credentials]\n  audiences: [x]\n",
			wantText: `client "a": grantTypes: a public client cannot use client_credentials`,
		},
		{
			name:     "no audiences",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [" + hash + "]\n  grantTypes: [password]\n",
			wantText: `client "a": audiences: missing`,
		},
		{
			name:     "invalid duration",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [" + hash + "]\n  grantTypes: [password]\n  audiences: [x]\n  accessTokenTTL: soon\n",
			wantText: `invalid duration "soon"`,
		},
		{
			name:     "negative duration",
			yaml:     "clients:\n- clientID: a\n  secretHashes: [" + hash + "]\n  grantTypes: [password]\n  audiences: [x]\n  refreshTokenTTL: -1h\n",
			wantText: `client "a": refreshTokenTTL: -1h0m0s is negative`,
		},
		{
			name:     "duplicate client",
			yaml:     "clients:\n- {clientID: a, public: true, grantTypes: [password], audiences: [x]}\n- {clientID: a, public: true, grantTypes: [password], audiences: [x]}\n",
			wantText: `clients[1]: invalid client "a": clientID: duplicate`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFile([]byte(tt.yaml))
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got error %v, want one wrapping ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantText)
			}
		})
	}
}

func TestVerifySecret(t *testing.T) {
	c := Client{SecretHashes: []string{HashSecret("old"), "sha256:" + strings.ToUpper(strings.TrimPrefix(HashSecret("new"), "sha256:"))}}
	tests := []struct {
		name   string
		secret string
		want   bool
	}{
		{name: "first hash", secret: "old", want: true},
		{name: "second hash in uppercase hex", secret: "new", want: true},
		{name: "wrong secret", secret: "other", want: false},
		{name: "empty secret", secret: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.VerifySecret(tt.secret); got != tt.want {
				t.Errorf("VerifySecret(%q) = %v, want %v", tt.secret, got, tt.want)
			}
		})
	}
}

func TestNewStaticRejectsInvalid(t *testing.T) {
	_, err := NewStatic([]Client{{ID: "a", Public: true, GrantTypes: []GrantType{GrantClientCredentials}, Audiences: []string{"x"}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("got error %v, want one wrapping ErrInvalid", err)
	}
}

func TestWatchFileReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clients.yaml")
	if err := os.WriteFile(path, []byte(validFile), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := WatchFile(t.Context(), path, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("WatchFile: %v", err)
	}
	if _, ok := src.Client("spa"); !ok {
		t.Fatal("got no client spa after the first load, want it")
	}

	changed := strings.Replace(validFile, "clientID: spa", "clientID: mobile", 1)
	if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := src.Client("mobile"); ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := src.Client("mobile"); !ok {
		t.Fatal("got no client mobile within 5s of the change, want it")
	}
	if _, ok := src.Client("spa"); ok {
		t.Error("got client spa after it was removed from the file, want none")
	}
}
