package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the flag definitions")

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "no command", args: nil, wantCode: 2, wantStderr: "Usage: gatehouse <command>"},
		{name: "unknown command", args: []string{"serve"}, wantCode: 2, wantStderr: `unknown command "serve"`},
		{name: "command help", args: []string{"issuer", "-h"}, wantCode: 2, wantStderr: "--issuer-url (GATEHOUSE_ISSUER_URL)"},
		{name: "issuer without required flags", args: []string{"issuer"}, wantCode: 1, wantStderr: "--issuer-url and --clients-file are required"},
		{name: "extauthz without issuer", args: []string{"extauthz"}, wantCode: 1, wantStderr: "no trusted issuer"},
		{name: "bad log format", args: []string{"extauthz", "--issuer-url=http://127.0.0.1:1", "--audience=a", "--log-format=xml"}, wantCode: 1, wantStderr: `invalid --log-format "xml"`},
		{name: "bad signing algorithm", args: []string{"dev", "--signing-algorithm=HS256"}, wantCode: 1, wantStderr: "unsupported signature algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(t.Context(), []string{"version"}, nil, &stdout, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	if got, want := stdout.String(), "gatehouse "+version+"\n"; got != want {
		t.Errorf("version output = %q, want %q", got, want)
	}
}

func TestHashSecretOutput(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"hash-secret"}, strings.NewReader("s3cret:+%-long-enough-random\n"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, stderr.String())
	}
	hash := strings.TrimSpace(stdout.String())
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(hash) {
		t.Fatalf("hash = %q, want sha256:<64 hex digits>", hash)
	}
	c := clients.Client{SecretHashes: []string{hash}}
	if !c.VerifySecret("s3cret:+%-long-enough-random") {
		t.Error("printed hash does not verify the secret that was piped in")
	}
	if c.VerifySecret("s3cret:+%-long-enough-random\n") {
		t.Error("printed hash verifies the secret with its line ending, want the line ending stripped")
	}
}

func TestHashPasswordOutput(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"hash-password"}, strings.NewReader("correct horse\r\n"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, stderr.String())
	}
	hash := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("hash = %q, want an argon2id PHC string", hash)
	}
	ok, err := users.VerifyPassword(hash, "correct horse")
	if err != nil || !ok {
		t.Errorf("VerifyPassword(printed hash) = %t, %v; want true, nil", ok, err)
	}
}

func TestHashSecretWarnsShortSecret(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"hash-secret"}, strings.NewReader("short"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "warning: the secret is 5 bytes") {
		t.Errorf("stderr = %q, want a warning about the 5-byte secret", stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "sha256:") {
		t.Errorf("stdout = %q, want the hash despite the warning", stdout.String())
	}
}

func TestHashRejectsEmptyInput(t *testing.T) {
	for _, command := range []string{"hash-password", "hash-secret"} {
		var stderr bytes.Buffer
		if code := run(t.Context(), []string{command}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != 1 {
			t.Errorf("%s with empty input: exit code = %d, want 1", command, code)
		}
		if !strings.Contains(stderr.String(), "standard input is empty") {
			t.Errorf("%s with empty input: stderr = %q, want the empty-input error", command, stderr.String())
		}
	}
}

// TestConfigurationDocsCurrent keeps docs/configuration.md in step with the
// flags. Run `go test ./cmd/gatehouse -run ConfigurationDocs -update` after
// changing a flag.
func TestConfigurationDocsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "configuration.md")
	want := renderConfigurationDocs(t)
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("%s is stale; run go test ./cmd/gatehouse -run ConfigurationDocs -update (-want +got):\n%s", path, diff)
	}
}

func renderConfigurationDocs(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(configurationDocsIntro)
	for _, c := range commands {
		if c.name == "controller" {
			// run would replace the test process with the controller
			// binary, so the help text comes from a build of it.
			b.WriteString("\n## gatehouse controller\n\n```text\n" + controllerHelp(t) + "```\n")
			continue
		}
		var stderr bytes.Buffer
		if code := run(t.Context(), []string{c.name, "-h"}, nil, &bytes.Buffer{}, &stderr); code != 2 {
			t.Fatalf("%s -h exit code = %d, want 2", c.name, code)
		}
		b.WriteString("\n## gatehouse " + c.name + "\n\n```text\n" + stderr.String() + "```\n")
	}
	return b.String()
}

const configurationDocsIntro = `# Configuration

Each subcommand of ` + "`gatehouse`" + ` takes flags. Every flag can also be set
through the environment variable shown next to it; a flag on the command
line wins over the environment, and the environment wins over the default.
Durations use Go's syntax (` + "`30s`, `10m`, `24h`" + `).

This page is generated from the flag definitions by
` + "`go test ./cmd/gatehouse -run ConfigurationDocs -update`" + `. The file
formats are described in [issuer-files.md](issuer-files.md) (clients and
users) and [extauthz-config.md](extauthz-config.md) (trusted issuers, route
rules and identity headers).
`
