package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// issuerFiles writes a clients file with the demo client and a users file
// with the demo user, and returns their paths.
func issuerFiles(t *testing.T, dir string) (clientsFile, usersFile string) {
	t.Helper()
	hash, err := users.HashPassword(demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	clientsFile = filepath.Join(dir, "clients.yaml")
	usersFile = filepath.Join(dir, "users.yaml")
	writeFile(t, clientsFile, fmt.Sprintf(`clients:
  - clientID: %s
    secretHashes: [%q]
    grantTypes: [password, refresh_token]
    scopes: [openid, orders:read]
    audiences: [demo-api]
`, demoClient, clients.HashSecret(demoSecret)))
	writeFile(t, usersFile, fmt.Sprintf("users:\n  - username: %s\n    passwordHash: %q\n", demoUser, hash))
	return clientsFile, usersFile
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runIssuer starts `gatehouse issuer` with args, waits until it is ready,
// and returns a function that stops it by its PID and waits for it.
func runIssuer(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatalf("build gatehouse: %v", err)
	}
	admin := freePort(t)
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, append([]string{"issuer", "--admin-listen=" + admin}, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gatehouse issuer: %v", err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		stopProcess(cmd, 15*time.Second)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("gatehouse issuer output:\n%s", logs.String())
		}
	})
	waitReady(t, "http://"+admin+"/readyz", 20*time.Second)
	return stop
}

// TestRefreshTokenSurvivesIssuerRestart gets a refresh token, restarts the
// issuer, and uses the token. The embedded store must keep it; the memory
// store shows the test can tell the difference.
func TestRefreshTokenSurvivesIssuerRestart(t *testing.T) {
	tests := []struct {
		name       string
		store      []string
		wantStatus int
	}{
		{name: "embedded store", store: []string{"--store=embedded"}, wantStatus: 200},
		{name: "memory store", store: []string{"--store=memory"}, wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clientsFile, usersFile := issuerFiles(t, dir)
			listen := freePort(t)
			issuerURL := "http://" + listen
			args := append([]string{
				"--listen=" + listen, "--issuer-url=" + issuerURL,
				"--clients-file=" + clientsFile, "--users-file=" + usersFile,
				"--store-path=" + filepath.Join(dir, "gatehouse.db"),
			}, tt.store...)

			stop := runIssuer(t, args...)
			tok := passwordToken(t, issuerURL)
			stop()

			runIssuer(t, args...)
			if got := refreshGrant(t, issuerURL, tok.RefreshToken); got != tt.wantStatus {
				t.Errorf("refresh after the restart: status = %d, want %d", got, tt.wantStatus)
			}
		})
	}
}
