package ldap

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	password := writeFile(t, "reader-password\n")
	empty := writeFile(t, "\n")
	notPEM := writeFile(t, "not a certificate")
	direct := func(c Config) Config {
		c.BindDNTemplate = cmpOr(c.BindDNTemplate, bindTemplate)
		c.URL = cmpOr(c.URL, "ldap://127.0.0.1:389")
		return c
	}
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "missing URL", cfg: Config{BindDNTemplate: bindTemplate}},
		{name: "http scheme", cfg: direct(Config{URL: "http://127.0.0.1"})},
		{name: "missing host", cfg: direct(Config{URL: "ldap://"})},
		{name: "URL with base DN", cfg: direct(Config{URL: "ldap://127.0.0.1/dc=example,dc=org"})},
		{name: "StartTLS over ldaps", cfg: direct(Config{URL: "ldaps://127.0.0.1", StartTLS: true})},
		{name: "no bind mode", cfg: Config{URL: "ldap://127.0.0.1"}},
		{name: "both bind modes", cfg: direct(Config{SearchFilter: userFilter, SearchBase: peopleBase, ServiceDN: testServiceDN, ServicePasswordFile: password})},
		{name: "template without verb", cfg: direct(Config{BindDNTemplate: "uid=alice,dc=example,dc=org"})},
		{name: "template with two verbs", cfg: direct(Config{BindDNTemplate: "uid=%s,cn=%s"})},
		{name: "template with other verb", cfg: direct(Config{BindDNTemplate: "uid=%s,cn=%d"})},
		{name: "search without service account", cfg: Config{URL: "ldap://127.0.0.1", SearchFilter: userFilter, SearchBase: peopleBase}},
		{name: "search without base", cfg: Config{URL: "ldap://127.0.0.1", SearchFilter: userFilter, ServiceDN: testServiceDN, ServicePasswordFile: password}},
		{name: "service DN without password file", cfg: direct(Config{ServiceDN: testServiceDN})},
		{name: "missing password file", cfg: direct(Config{ServiceDN: testServiceDN, ServicePasswordFile: password + ".missing"})},
		{name: "empty password file", cfg: direct(Config{ServiceDN: testServiceDN, ServicePasswordFile: empty})},
		{name: "CA file without PEM", cfg: direct(Config{CAFile: notPEM})},
		{name: "group filter without base", cfg: direct(Config{GroupSearch: GroupSearch{Filter: "(member=%s)"}})},
		{name: "negative timeout", cfg: direct(Config{RequestTimeout: -time.Second})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, slog.New(slog.DiscardHandler))
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("got error %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestNewSetsDefaults(t *testing.T) {
	s, err := New(Config{URL: "ldaps://ldap.example.org", BindDNTemplate: bindTemplate}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got := s.cfg
	want := Config{
		URL: "ldaps://ldap.example.org", BindDNTemplate: bindTemplate,
		DialTimeout: DefaultDialTimeout, RequestTimeout: DefaultRequestTimeout,
		MaxConnections: DefaultMaxConnections, MaxGroups: DefaultMaxGroups,
		Attributes:  Attributes{Username: "uid", Subject: "entryUUID", Email: "mail"},
		GroupSearch: GroupSearch{NameAttribute: "cn"},
	}
	if got != want {
		t.Errorf("got config %+v, want %+v", got, want)
	}
	if got := s.tls.ServerName; got != "ldap.example.org" {
		t.Errorf("got TLS server name %q, want %q", got, "ldap.example.org")
	}
}

func TestNewWarnsAboutPlainLDAP(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		startTLS bool
		wantWarn bool
	}{
		{name: "remote plain", url: "ldap://ldap.example.org", wantWarn: true},
		{name: "remote StartTLS", url: "ldap://ldap.example.org", startTLS: true},
		{name: "remote ldaps", url: "ldaps://ldap.example.org"},
		{name: "loopback plain", url: "ldap://127.0.0.1:389"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			_, err := New(Config{URL: tt.url, StartTLS: tt.startTLS, BindDNTemplate: bindTemplate}, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := strings.Contains(logs.String(), "not encrypted"); got != tt.wantWarn {
				t.Errorf("got warning %v, want %v (logs %q)", got, tt.wantWarn, logs.String())
			}
		})
	}
}

func TestGroupName(t *testing.T) {
	tests := []struct {
		name string
		dn   string
		want string
	}{
		{name: "groupOfNames", dn: "cn=admins,ou=groups,dc=example,dc=org", want: "admins"},
		{name: "escaped comma", dn: `cn=a\,b,ou=groups,dc=example,dc=org`, want: "a,b"},
		{name: "not a DN", dn: "admins", want: "admins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := groupName(tt.dn); got != tt.want {
				t.Errorf("groupName(%q): got %q, want %q", tt.dn, got, tt.want)
			}
		})
	}
}
