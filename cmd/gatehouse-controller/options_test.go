package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/keyset"
)

// required are the flags without a default.
var required = []string{"--namespace=gatehouse-system", "--issuer-url=https://auth.example.com"}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		value, ok := env[key]
		return value, ok
	}
}

func TestParseOptionsDefaults(t *testing.T) {
	o, err := parseOptions(required, lookupIn(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("parseOptions: %v", err)
	}
	wantPolicy := keyset.Policy{
		Algorithm:      jose.ES256,
		RotationPeriod: 720 * time.Hour,
		PublishLead:    10 * time.Minute,
		RetireAfter:    24*time.Hour + 5*time.Minute,
	}
	if diff := cmp.Diff(wantPolicy, o.policy); diff != "" {
		t.Errorf("policy mismatch (-want +got):\n%s", diff)
	}
	checks := []struct{ name, got, want string }{
		{"token URL", o.tokenURL, "https://auth.example.com/oauth2/token"},
		{"signing keys secret", o.signingKeysSecret, "gatehouse-signing-keys"},
		{"leader election ID", o.leaderElectionID, "gatehouse-controller"},
		{"health listen", o.healthListen, "127.0.0.1:8083"},
		{"metrics listen", o.metricsListen, "127.0.0.1:8082"},
		{"kubeconfig", o.kubeconfig, ""},
		{"log format", o.log.Format, "json"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !o.leaderElect {
		t.Error("leader election is off by default, want on")
	}
	if len(o.watchNamespaces) != 0 {
		t.Errorf("watch namespaces = %v, want none (all namespaces)", o.watchNamespaces)
	}
}

func TestParseOptionsValues(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, o *options)
	}{
		{
			name: "environment fallback",
			env: map[string]string{
				"GATEHOUSE_NAMESPACE":        "gatehouse",
				"GATEHOUSE_ISSUER_URL":       "http://issuer.gatehouse.svc:8080",
				"GATEHOUSE_WATCH_NAMESPACES": "team-b, team-a,team-b",
				"GATEHOUSE_LEADER_ELECT":     "false",
			},
			check: func(t *testing.T, o *options) {
				if o.namespace != "gatehouse" || o.issuerURL != "http://issuer.gatehouse.svc:8080" || o.leaderElect {
					t.Errorf("got namespace %q, issuer %q, leader election %t; want the environment's values", o.namespace, o.issuerURL, o.leaderElect)
				}
				if diff := cmp.Diff([]string{"team-a", "team-b"}, []string(o.watchNamespaces)); diff != "" {
					t.Errorf("watch namespaces mismatch, want sorted without duplicates (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "flag wins over environment",
			args: append([]string{"--signing-algorithm=EdDSA"}, required...),
			env:  map[string]string{"GATEHOUSE_SIGNING_ALGORITHM": "RS256"},
			check: func(t *testing.T, o *options) {
				if o.policy.Algorithm != jose.EdDSA {
					t.Errorf("algorithm = %s, want EdDSA", o.policy.Algorithm)
				}
			},
		},
		{
			name: "token URL given",
			args: append([]string{"--token-url=https://auth.example.com/token"}, required...),
			check: func(t *testing.T, o *options) {
				if o.tokenURL != "https://auth.example.com/token" {
					t.Errorf("token URL = %q, want the flag's value", o.tokenURL)
				}
			},
		},
		{
			name: "token URL follows issuer path",
			args: []string{"--namespace=gatehouse", "--issuer-url=https://example.com/auth"},
			check: func(t *testing.T, o *options) {
				if o.tokenURL != "https://example.com/auth/oauth2/token" {
					t.Errorf("token URL = %q, want https://example.com/auth/oauth2/token", o.tokenURL)
				}
			},
		},
		{
			name: "empty metrics address",
			args: append([]string{"--metrics-listen="}, required...),
			check: func(t *testing.T, o *options) {
				if o.metricsListen != "0" {
					t.Errorf("metrics listen = %q, want 0, which turns the server off", o.metricsListen)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, lookupIn(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("parseOptions: %v", err)
			}
			tt.check(t, o)
		})
	}
}

func TestParseOptionsErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "missing namespace", args: []string{"--issuer-url=https://auth.example.com"}, wantErr: "--namespace is required"},
		{name: "missing issuer", args: []string{"--namespace=gatehouse"}, wantErr: "--issuer-url is required"},
		{name: "invalid namespace", args: append([]string{"--namespace=Gatehouse_System"}, required[1]), wantErr: `invalid namespace "Gatehouse_System" in --namespace`},
		{name: "invalid watch namespace", args: append([]string{"--watch-namespaces=team-a,Team.B"}, required...), wantErr: `invalid namespace "Team.B" in --watch-namespaces`},
		{name: "issuer trailing slash", args: []string{"--namespace=gatehouse", "--issuer-url=https://auth.example.com/"}, wantErr: "remove the trailing slash"},
		{name: "issuer scheme", args: []string{"--namespace=gatehouse", "--issuer-url=ftp://auth.example.com"}, wantErr: "the scheme must be https or http"},
		{name: "issuer query", args: []string{"--namespace=gatehouse", "--issuer-url=https://auth.example.com?tenant=a"}, wantErr: "remove the query or fragment"},
		{name: "issuer relative", args: []string{"--namespace=gatehouse", "--issuer-url=auth.example.com"}, wantErr: "the scheme must be https or http"},
		{name: "issuer unclean path", args: []string{"--namespace=gatehouse", "--issuer-url=https://auth.example.com/a/../b"}, wantErr: "the path must be clean"},
		{name: "token URL relative", args: append([]string{"--token-url=/oauth2/token"}, required...), wantErr: `invalid --token-url "/oauth2/token"`},
		{name: "algorithm", args: append([]string{"--signing-algorithm=HS256"}, required...), wantErr: "invalid --signing-algorithm"},
		{name: "zero rotation period", args: append([]string{"--signing-key-rotation-period=0s"}, required...), wantErr: "duration must be positive"},
		{name: "retire after too long", args: append([]string{"--signing-key-rotation-period=1h", "--signing-key-retire-after=720h"}, required...), wantErr: "invalid --signing-key-* flags"},
		{name: "lease name", args: append([]string{"--leader-election-id=Gatehouse Lease"}, required...), wantErr: `invalid --leader-election-id "Gatehouse Lease"`},
		{name: "secret name", args: append([]string{"--signing-keys-secret=keys/v1"}, required...), wantErr: `invalid --signing-keys-secret "keys/v1"`},
		{name: "stray argument", args: append([]string{"run"}, required...), wantErr: `unexpected argument "run"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions(tt.args, lookupIn(nil), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseOptions error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "help", args: []string{"-h"}, wantCode: 2, wantStderr: "--watch-namespaces (GATEHOUSE_WATCH_NAMESPACES)"},
		{name: "invalid flags", args: []string{"--namespace=gatehouse"}, wantCode: 1, wantStderr: "gatehouse controller: --issuer-url is required"},
		{name: "log format", args: append([]string{"--log-format=xml"}, required...), wantCode: 1, wantStderr: `gatehouse controller: invalid --log-format "xml"`},
		{name: "kubeconfig missing", args: append([]string{"--kubeconfig=/nonexistent/kubeconfig"}, required...), wantCode: 1, wantStderr: "load --kubeconfig /nonexistent/kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(t.Context(), tt.args, lookupIn(nil), &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestCacheOptions(t *testing.T) {
	t.Run("all namespaces", func(t *testing.T) {
		got := cacheOptions(&options{namespace: "gatehouse"})
		if got.DefaultNamespaces != nil || got.ByObject != nil {
			t.Errorf("cache options = %+v, want none, which caches every namespace", got)
		}
	})
	t.Run("watched namespaces", func(t *testing.T) {
		got := cacheOptions(&options{namespace: "gatehouse", watchNamespaces: []string{"team-a", "team-b"}})
		wantSecrets := map[string]cache.Config{"gatehouse": {}, "team-a": {}, "team-b": {}}
		if diff := cmp.Diff(wantSecrets, got.DefaultNamespaces); diff != "" {
			t.Errorf("default namespaces mismatch (-want +got):\n%s", diff)
		}
		var clients map[string]cache.Config
		for obj, byObject := range got.ByObject {
			if _, ok := obj.(*v1alpha1.OAuthClient); !ok {
				t.Errorf("unexpected ByObject entry for %T", obj)
				continue
			}
			clients = byObject.Namespaces
		}
		if diff := cmp.Diff(map[string]cache.Config{"team-a": {}, "team-b": {}}, clients); diff != "" {
			t.Errorf("OAuthClient namespaces mismatch (-want +got):\n%s", diff)
		}
	})
}
