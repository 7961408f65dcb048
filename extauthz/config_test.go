package extauthz

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const sampleConfig = `
issuers:
  - issuer: https://auth.example.com
    audiences: [api, admin-api]
    refreshInterval: 2m
  - issuer: https://partner.example.com/tenant
    audiences: [api]
    jwksURI: https://partner.example.com/keys
rules:
  - pathPrefix: /healthz
    anonymous: true
  - host: "*.admin.example.com"
    methods: [POST, DELETE]
    scopes: [admin]
    audiences: [admin-api]
headers:
  subject: x-user
realm: mesh
leeway: 10s
maxTokenBytes: 4096
cacheSize: 500
`

func TestParseConfig(t *testing.T) {
	fc, err := ParseConfig([]byte(sampleConfig))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := Config{
		Issuers: []IssuerConfig{
			{Issuer: "https://auth.example.com", Audiences: []string{"api", "admin-api"}, RefreshInterval: 2 * time.Minute},
			{Issuer: "https://partner.example.com/tenant", Audiences: []string{"api"}, JWKSURI: "https://partner.example.com/keys"},
		},
		Rules: []Rule{
			{PathPrefix: "/healthz", Anonymous: true},
			{Host: "*.admin.example.com", Methods: []string{"POST", "DELETE"}, Scopes: []string{"admin"}, Audiences: []string{"admin-api"}},
		},
		Headers:       HeaderNames{Subject: "x-user"},
		Realm:         "mesh",
		Leeway:        10 * time.Second,
		MaxTokenBytes: 4096,
		CacheSize:     500,
	}
	if diff := cmp.Diff(want, fc.Config()); diff != "" {
		t.Errorf("Config() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseConfigRejects(t *testing.T) {
	issuer := "issuers: [{issuer: 'https://auth.example.com', audiences: [api]}]\n"
	tests := []struct {
		name string
		yaml string
	}{
		{name: "unknown top-level field", yaml: issuer + "realms: x\n"},
		{name: "unknown rule field", yaml: issuer + "rules: [{path: /x}]\n"},
		{name: "no issuers", yaml: "realm: x\n"},
		{name: "issuer not a URL", yaml: "issuers: [{issuer: auth, audiences: [api]}]\n"},
		{name: "issuer with query", yaml: "issuers: [{issuer: 'https://a.example?x=1', audiences: [api]}]\n"},
		{name: "issuer without audiences", yaml: "issuers: [{issuer: 'https://a.example'}]\n"},
		{name: "duplicate issuer", yaml: "issuers: [{issuer: 'https://a.example', audiences: [x]}, {issuer: 'https://a.example', audiences: [y]}]\n"},
		{name: "both jwksURI and jwksFile", yaml: "issuers: [{issuer: 'https://a.example', audiences: [x], jwksURI: 'https://a.example/k', jwksFile: /k}]\n"},
		{name: "refresh interval too short", yaml: "issuers: [{issuer: 'https://a.example', audiences: [x], refreshInterval: 10ms}]\n"},
		{name: "bad duration", yaml: issuer + "leeway: soon\n"},
		{name: "leeway too large", yaml: issuer + "leeway: 1h\n"},
		{name: "path prefix without slash", yaml: issuer + "rules: [{pathPrefix: api}]\n"},
		{name: "host with port", yaml: issuer + "rules: [{host: 'a.example:8080'}]\n"},
		{name: "host wildcard in the middle", yaml: issuer + "rules: [{host: 'a.*.example'}]\n"},
		{name: "invalid scope", yaml: issuer + "rules: [{scopes: ['a\"b']}]\n"},
		{name: "invalid method", yaml: issuer + "rules: [{methods: ['GE T']}]\n"},
		{name: "anonymous with scopes", yaml: issuer + "rules: [{anonymous: true, scopes: [a]}]\n"},
		{name: "header name with space", yaml: issuer + "headers: {subject: 'x user'}\n"},
		{name: "header name reserved", yaml: issuer + "headers: {subject: authorization}\n"},
		{name: "header name twice", yaml: issuer + "headers: {subject: x-a, scope: x-a}\n"},
		{name: "realm with quote", yaml: issuer + "realm: 'a\"b'\n"},
		{name: "not YAML", yaml: "issuers: [\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("ParseConfig error = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestLoadConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "extauthz.yaml")
	if err := os.WriteFile(path, []byte(sampleConfig), 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
	fc, err := LoadConfigFile(path)
	if err != nil {
		t.Fatalf("LoadConfigFile: %v", err)
	}
	if got, want := len(fc.Issuers), 2; got != want {
		t.Errorf("got %d issuers, want %d", got, want)
	}

	_, err = LoadConfigFile(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadConfigFile of a missing file: error = %v, want os.ErrNotExist", err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(t.Context(), Config{})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New(Config{}) error = %v, want ErrInvalidConfig", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{Issuers: []IssuerConfig{{Issuer: "https://a.example", Audiences: []string{"x"}}}}.withDefaults()
	if got.Realm != DefaultRealm || got.Leeway != DefaultLeeway || got.MaxTokenBytes != DefaultMaxTokenBytes ||
		got.CacheSize != DefaultCacheSize || got.Issuers[0].RefreshInterval != DefaultRefreshInterval {
		t.Errorf("withDefaults left a zero field: %+v", got)
	}
	wantHeaders := HeaderNames{Subject: DefaultSubjectHeader, ClientID: DefaultClientIDHeader, Scope: DefaultScopeHeader, Username: DefaultUsernameHeader}
	if diff := cmp.Diff(wantHeaders, got.Headers); diff != "" {
		t.Errorf("default headers mismatch (-want +got):\n%s", diff)
	}
	if got.HTTPClient == nil || got.HTTPClient.Timeout != DefaultFetchTimeout {
		t.Errorf("got HTTP client %+v, want one with a %s timeout", got.HTTPClient, DefaultFetchTimeout)
	}
}
