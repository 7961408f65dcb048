package ldap

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

const (
	aliceDN      = "uid=alice,ou=people,dc=example,dc=org"
	weirdName    = `we*ird)\,name`
	weirdDN      = `uid=we*ird)\5c\2cname,ou=people,dc=example,dc=org`
	userFilter   = "(&(objectClass=inetOrgPerson)(uid=%s))"
	peopleBase   = "ou=people,dc=example,dc=org"
	groupsBase   = "ou=groups,dc=example,dc=org"
	bindTemplate = "uid=%s,ou=people,dc=example,dc=org"
)

// searchConfig is a search-then-bind Config for d with memberOf groups.
func searchConfig(t *testing.T, d *testDirectory) Config {
	return Config{
		URL:                 d.URL,
		ServiceDN:           testServiceDN,
		ServicePasswordFile: writeFile(t, testServicePassword+"\n"),
		SearchBase:          peopleBase,
		SearchFilter:        userFilter,
		Attributes:          Attributes{Groups: "memberOf"},
	}
}

// directConfig is a direct-bind Config for d without a service account.
func directConfig(d *testDirectory) Config {
	return Config{URL: d.URL, BindDNTemplate: bindTemplate, Attributes: Attributes{Groups: "memberOf"}}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newTestStore returns a Store for cfg whose log output goes to the
// returned buffer.
func newTestStore(t *testing.T, cfg Config) (*Store, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	s, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, &logs
}

// entryUUID reads the entryUUID of dn as the directory's admin.
func entryUUID(t *testing.T, d *testDirectory, dn string) string {
	t.Helper()
	conn, err := goldap.DialURL(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(testAdminDN, testAdminPassword); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"entryUUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read entryUUID of %s: %v", dn, err)
	}
	return res.Entries[0].GetAttributeValue("entryUUID")
}

// loginCase is one Authenticate call and its expected result.
type loginCase struct {
	name     string
	username string
	password string
	want     users.User
	wantErr  error
}

// loginCases are the cases that both bind modes must pass.
func loginCases(t *testing.T, d *testDirectory) []loginCase {
	alice := users.User{Username: "alice", Subject: entryUUID(t, d, aliceDN), Email: "alice@example.org", Groups: []string{"admins", "staff"}}
	weird := users.User{Username: weirdName, Subject: entryUUID(t, d, weirdDN)}
	return []loginCase{
		{name: "good password", username: "alice", password: "alice-password", want: alice},
		{name: "special characters", username: weirdName, password: "weird-password", want: weird},
		{name: "wrong password", username: "alice", password: "bob-password", wantErr: users.ErrInvalidCredentials},
		{name: "unknown user", username: "mallory", password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "empty password", username: "alice", password: "", wantErr: users.ErrInvalidCredentials},
		{name: "empty username", username: "", password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "wildcard", username: "*", password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "prefix wildcard", username: "al*", password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "filter injection", username: "alice)(uid=*", password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "always-true injection", username: "*)(|(objectClass=*", password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "trailing backslash", username: `alice\`, password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "DN injection", username: "alice,ou=people", password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "RDN injection", username: "alice+cn=Alice Liddell", password: "alice-password", wantErr: users.ErrInvalidCredentials},
		{name: "partial special name", username: "we*", password: "weird-password", wantErr: users.ErrInvalidCredentials},
		{name: "NUL in username", username: "alice\x00", password: "alice-password", wantErr: users.ErrInvalidCredentials},
	}
}

func runLoginCases(t *testing.T, s *Store, cases []loginCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Authenticate(t.Context(), tt.username, tt.password)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate(%q): got error %v, want %v", tt.username, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Authenticate(%q): user mismatch (-want +got):\n%s", tt.username, diff)
			}
		})
	}
}

func TestAuthenticateSearchThenBind(t *testing.T) {
	d := startDirectory(t, false)
	s, _ := newTestStore(t, searchConfig(t, d))
	runLoginCases(t, s, loginCases(t, d))
}

func TestAuthenticateDirectBind(t *testing.T) {
	d := startDirectory(t, false)
	s, _ := newTestStore(t, directConfig(d))
	runLoginCases(t, s, loginCases(t, d))
}

func TestAuthenticateDirectBindWithServiceAccount(t *testing.T) {
	d := startDirectory(t, false)
	cfg := directConfig(d)
	cfg.ServiceDN, cfg.ServicePasswordFile = testServiceDN, writeFile(t, testServicePassword)
	s, _ := newTestStore(t, cfg)
	runLoginCases(t, s, loginCases(t, d))
}

func TestAuthenticateGroupSearch(t *testing.T) {
	d := startDirectory(t, false)
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "search then bind", cfg: searchConfig(t, d)},
		{name: "direct bind", cfg: directConfig(d)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Attributes.Groups = ""
			tt.cfg.GroupSearch = GroupSearch{Base: groupsBase, Filter: "(&(objectClass=groupOfNames)(member=%s))"}
			s, _ := newTestStore(t, tt.cfg)
			got, err := s.Authenticate(t.Context(), "bob", "bob-password")
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if diff := cmp.Diff([]string{"staff"}, got.Groups); diff != "" {
				t.Errorf("groups mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthenticateSearchMatchCount(t *testing.T) {
	d := startDirectory(t, false)
	cfg := searchConfig(t, d)
	cfg.SearchFilter = "(&(objectClass=inetOrgPerson)(sn=%s))"
	s, logs := newTestStore(t, cfg)

	_, err := s.Authenticate(t.Context(), "Nobody", "bob-password")
	if !errors.Is(err, users.ErrInvalidCredentials) || errors.Is(err, ErrAmbiguousUser) {
		t.Errorf("zero matches: got error %v, want ErrInvalidCredentials alone", err)
	}

	_, err = s.Authenticate(t.Context(), "Twin", "bob-password")
	if !errors.Is(err, users.ErrInvalidCredentials) {
		t.Errorf("two matches: got error %v, want ErrInvalidCredentials", err)
	}
	if !errors.Is(err, ErrAmbiguousUser) {
		t.Errorf("two matches: got error %v, want ErrAmbiguousUser", err)
	}
	if !strings.Contains(logs.String(), "matched more than one entry") {
		t.Errorf("two matches: got logs %q, want a warning", logs.String())
	}
}

func TestAuthenticateMaxGroups(t *testing.T) {
	d := startDirectory(t, false)
	cfg := searchConfig(t, d)
	cfg.MaxGroups = 1
	s, _ := newTestStore(t, cfg)

	_, err := s.Authenticate(t.Context(), "alice", "alice-password")
	if err == nil || errors.Is(err, users.ErrInvalidCredentials) {
		t.Errorf("got error %v, want a groups limit error", err)
	}
	if _, err := s.Authenticate(t.Context(), "bob", "bob-password"); err != nil {
		t.Errorf("user within the limit: got error %v, want none", err)
	}
}

func TestLookup(t *testing.T) {
	d := startDirectory(t, false)
	alice := users.User{Username: "alice", Subject: entryUUID(t, d, aliceDN), Email: "alice@example.org", Groups: []string{"admins", "staff"}}
	direct := directConfig(d)
	direct.ServiceDN, direct.ServicePasswordFile = testServiceDN, writeFile(t, testServicePassword)
	twins := searchConfig(t, d)
	twins.SearchFilter = "(&(objectClass=inetOrgPerson)(sn=%s))"
	tests := []struct {
		name     string
		cfg      Config
		username string
		want     users.User
		wantErr  error
	}{
		{name: "search found", cfg: searchConfig(t, d), username: "alice", want: alice},
		{name: "search unknown", cfg: searchConfig(t, d), username: "mallory", wantErr: users.ErrNotFound},
		{name: "search wildcard", cfg: searchConfig(t, d), username: "*", wantErr: users.ErrNotFound},
		{name: "search ambiguous", cfg: twins, username: "Twin", wantErr: ErrAmbiguousUser},
		{name: "direct found", cfg: direct, username: "alice", want: alice},
		{name: "direct unknown", cfg: direct, username: "mallory", wantErr: users.ErrNotFound},
		{name: "direct DN injection", cfg: direct, username: "alice,ou=people", wantErr: users.ErrNotFound},
		{name: "invalid username", cfg: direct, username: "", wantErr: users.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t, tt.cfg)
			got, err := s.Lookup(t.Context(), tt.username)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Lookup(%q): got error %v, want %v", tt.username, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q): user mismatch (-want +got):\n%s", tt.username, diff)
			}
		})
	}
}

// maxUnavailableWait bounds how long a call may take to report an
// unreachable directory in the tests, with the timeouts they set.
const maxUnavailableWait = 3 * time.Second

func TestDirectoryDown(t *testing.T) {
	d := startDirectory(t, false)
	s, _ := newTestStore(t, searchConfig(t, d))
	if _, err := s.Authenticate(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatalf("Authenticate before stop: %v", err)
	}
	d.Stop()

	start := time.Now()
	_, err := s.Authenticate(t.Context(), "alice", "alice-password")
	if !errors.Is(err, users.ErrUnavailable) {
		t.Errorf("Authenticate: got error %v, want ErrUnavailable", err)
	}
	_, err = s.Lookup(t.Context(), "alice")
	if !errors.Is(err, users.ErrUnavailable) {
		t.Errorf("Lookup: got error %v, want ErrUnavailable", err)
	}
	if elapsed := time.Since(start); elapsed > maxUnavailableWait {
		t.Errorf("got %v to report the directory down, want at most %v", elapsed, maxUnavailableWait)
	}
	_, err = s.Authenticate(t.Context(), "alice", "")
	if !errors.Is(err, users.ErrInvalidCredentials) {
		t.Errorf("empty password: got error %v, want ErrInvalidCredentials before any connection", err)
	}
}

// silentServer accepts TCP connections on loopback and never replies, like
// a hung directory server.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return "ldap://" + l.Addr().String()
}

func TestDirectoryTimeout(t *testing.T) {
	url := silentServer(t)
	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func(context.Context) (context.Context, context.CancelFunc)
	}{
		{name: "request timeout", timeout: 300 * time.Millisecond, ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithCancel(ctx)
		}},
		{name: "context deadline", timeout: time.Minute, ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 300*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{URL: url, BindDNTemplate: bindTemplate, RequestTimeout: tt.timeout}
			s, _ := newTestStore(t, cfg)
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()

			start := time.Now()
			_, err := s.Authenticate(ctx, "alice", "alice-password")
			if !errors.Is(err, users.ErrUnavailable) {
				t.Errorf("got error %v, want ErrUnavailable", err)
			}
			if elapsed := time.Since(start); elapsed > maxUnavailableWait {
				t.Errorf("got %v to time out, want at most %v", elapsed, maxUnavailableWait)
			}
		})
	}
}

func TestStartTLS(t *testing.T) {
	d := startDirectory(t, true)
	tests := []struct {
		name     string
		ldaps    bool
		caFile   string
		insecure bool
		wantErr  error
		wantLog  string
	}{
		{name: "trusted CA", caFile: d.CAFile},
		{name: "unknown CA", wantErr: users.ErrUnavailable},
		{name: "verification off", insecure: true, wantLog: "verification is disabled"},
		{name: "ldaps trusted CA", ldaps: true, caFile: d.CAFile},
		{name: "ldaps unknown CA", ldaps: true, wantErr: users.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := searchConfig(t, d)
			cfg.StartTLS, cfg.CAFile, cfg.InsecureSkipVerify = !tt.ldaps, tt.caFile, tt.insecure
			if tt.ldaps {
				cfg.URL = d.LDAPSURL
			}
			s, logs := newTestStore(t, cfg)
			_, err := s.Authenticate(t.Context(), "alice", "alice-password")
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("got logs %q, want them to contain %q", logs.String(), tt.wantLog)
			}
		})
	}
}

func TestEmptyPasswordNeverBinds(t *testing.T) {
	d := startDirectory(t, false)
	conn, err := goldap.DialURL(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The test directory, like many servers, accepts a DN with an empty
	// password as an anonymous bind, so only the store's own check stops it.
	if err := conn.UnauthenticatedBind(aliceDN); err != nil {
		t.Fatalf("precondition: unauthenticated bind as %s: %v", aliceDN, err)
	}

	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "search then bind", cfg: searchConfig(t, d)},
		{name: "direct bind", cfg: directConfig(d)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t, tt.cfg)
			_, err := s.Authenticate(t.Context(), "alice", "")
			if !errors.Is(err, users.ErrInvalidCredentials) {
				t.Errorf("got error %v, want ErrInvalidCredentials", err)
			}
		})
	}
}

func TestLogsHoldNoPassword(t *testing.T) {
	d := startDirectory(t, false)
	cfg := searchConfig(t, d)
	cfg.SearchFilter = "(&(objectClass=inetOrgPerson)(sn=%s))"
	cfg.InsecureSkipVerify = true
	s, logs := newTestStore(t, cfg)
	for _, password := range []string{"bob-password", "wrong-password"} {
		_, _ = s.Authenticate(t.Context(), "Twin", password)
	}
	d.Stop()
	_, _ = s.Authenticate(t.Context(), "Twin", "bob-password")

	if logs.Len() == 0 {
		t.Fatal("got no logs, want warnings to check")
	}
	for _, secret := range []string{"bob-password", "wrong-password", testServicePassword} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain the secret %q:\n%s", secret, logs.String())
		}
	}
}
