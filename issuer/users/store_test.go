package users

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustHash(t testing.TB, password string) string {
	t.Helper()
	h, err := hashArgon2(password, testParams)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStaticAuthenticate(t *testing.T) {
	store, err := NewStatic([]User{
		{Username: "demo", PasswordHash: mustHash(t, "pw"), Email: "demo@example.com", Groups: []string{"g"}},
		{Username: "bob", Subject: "id-bob", PasswordHash: referenceBcrypt},
	})
	if err != nil {
		t.Fatalf("NewStatic: %v", err)
	}
	tests := []struct {
		name     string
		username string
		password string
		want     User
		wantErr  error
	}{
		{name: "argon2id user", username: "demo", password: "pw", want: User{Username: "demo", Subject: "demo", Email: "demo@example.com", Groups: []string{"g"}}},
		{name: "bcrypt user", username: "bob", password: "correct horse", want: User{Username: "bob", Subject: "id-bob"}},
		{name: "wrong password", username: "demo", password: "PW", wantErr: ErrInvalidCredentials},
		{name: "unknown user", username: "eve", password: "pw", wantErr: ErrInvalidCredentials},
		{name: "username case differs", username: "Demo", password: "pw", wantErr: ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.Authenticate(t.Context(), tt.username, tt.password)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("user mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDummyHashFollowsFirstUser(t *testing.T) {
	store, err := NewStatic([]User{{Username: "demo", PasswordHash: referenceArgon2}})
	if err != nil {
		t.Fatalf("NewStatic: %v", err)
	}
	if want := "$argon2id$v=19$m=1024,t=2,p=1$"; !strings.HasPrefix(store.users.dummy, want) {
		t.Errorf("got dummy hash %q, want prefix %q", store.users.dummy, want)
	}
}

func TestLookup(t *testing.T) {
	store, err := NewStatic([]User{{Username: "demo", PasswordHash: referenceBcrypt}})
	if err != nil {
		t.Fatalf("NewStatic: %v", err)
	}
	got, err := store.Lookup(t.Context(), "demo")
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if diff := cmp.Diff(User{Username: "demo", Subject: "demo"}, got); diff != "" {
		t.Errorf("user mismatch (-want +got):\n%s", diff)
	}
	if _, err := store.Lookup(t.Context(), "eve"); !errors.Is(err, ErrNotFound) {
		t.Errorf("got error %v for an unknown user, want ErrNotFound", err)
	}
}

func TestAuthenticateCanceledContext(t *testing.T) {
	store, err := NewStatic([]User{{Username: "demo", PasswordHash: referenceBcrypt}})
	if err != nil {
		t.Fatalf("NewStatic: %v", err)
	}
	// Fill every slot so that Authenticate has to wait.
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	defer func() {
		for range cap(hashSlots) {
			<-hashSlots
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = store.Authenticate(ctx, "demo", "correct horse")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got error %v, want context.DeadlineExceeded", err)
	}
}

func TestParseFileRejects(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantText string
	}{
		{name: "unknown field", yaml: "users:\n- username: a\n  password: x\n", wantText: `unknown field "password"`},
		{name: "missing username", yaml: "users:\n- passwordHash: '" + referenceBcrypt + "'\n", wantText: "users[0]: invalid user: username: missing"},
		{name: "missing hash", yaml: "users:\n- username: a\n", wantText: `invalid user "a": passwordHash: missing`},
		{name: "plain password as hash", yaml: "users:\n- username: a\n  passwordHash: hunter2\n", wantText: `invalid user "a": passwordHash: unsupported password hash`},
		{name: "duplicate username", yaml: "users:\n- {username: a, passwordHash: '" + referenceBcrypt + "'}\n- {username: a, passwordHash: '" + referenceBcrypt + "'}\n", wantText: `users[1]: invalid user "a": username: duplicate`},
		{name: "duplicate subject", yaml: "users:\n- {username: a, passwordHash: '" + referenceBcrypt + "'}\n- {username: b, subject: a, passwordHash: '" + referenceBcrypt + "'}\n", wantText: `users[1]: invalid user "b": subject: duplicate "a"`},
		{name: "empty group", yaml: "users:\n- {username: a, passwordHash: '" + referenceBcrypt + "', groups: ['']}\n", wantText: `invalid user "a": groups[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFile([]byte(tt.yaml))
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got error %v, want one wrapping ErrInvalid", err)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got error %v, want it to contain %q", err, tt.wantText)
			}
		})
	}
}

func TestWatchFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const interval = 20 * time.Millisecond
	write("users:\n- username: demo\n  email: old@example.com\n  passwordHash: '" + referenceBcrypt + "'\n")
	var logs syncBuffer
	src, err := WatchFile(t.Context(), path, interval, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("WatchFile: %v", err)
	}
	email := func() string {
		u, err := src.Lookup(t.Context(), "demo")
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		return u.Email
	}
	if got := email(); got != "old@example.com" {
		t.Fatalf("got email %q, want old@example.com", got)
	}

	write("users:\n- username: demo\n  email: new@example.com\n  passwordHash: '" + referenceBcrypt + "'\n")
	// The bounds are generous because a busy machine delays the poll; the
	// conditions themselves are exact.
	waitUntil(t, 5*time.Second, func() bool { return email() == "new@example.com" })

	write("users:\n- username: demo\n  email: broken@example.com\n  passwordHash: plain\n")
	waitUntil(t, 5*time.Second, func() bool { return strings.Contains(logs.String(), "reload failed") })
	if got := email(); got != "new@example.com" {
		t.Errorf("after an invalid change got email %q, want the last good new@example.com", got)
	}
	if _, err := src.Authenticate(t.Context(), "demo", "correct horse"); err != nil {
		t.Errorf("Authenticate with the last good set: %v", err)
	}
}

// waitUntil polls cond until it holds or timeout has passed.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(timeout / 20)
	}
}

// syncBuffer is a bytes.Buffer that the watch goroutine may write while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
