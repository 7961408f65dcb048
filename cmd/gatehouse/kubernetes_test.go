package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/serve"
)

// kubeconfigWithoutNamespace is a kubeconfig whose context names no
// namespace. Nothing listens on its server.
const kubeconfigWithoutNamespace = `apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: test
  context: {cluster: test}
`

func TestIssuerKubernetesFlags(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(kubeconfigWithoutNamespace), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"issuer", "--issuer-url=http://127.0.0.1:1", "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0", "--store=memory"}
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "clients file too", args: []string{"--kubernetes", "--clients-file=clients.yaml"}, wantStderr: "--kubernetes and --clients-file both name a client source: use one"},
		{name: "signing key file too", args: []string{"--kubernetes", "--signing-key-file=key.pem"}, wantStderr: "leave --signing-key-file empty"},
		{name: "outside a pod", args: []string{"--kubernetes"}, wantStderr: "--kubernetes without --kubeconfig: not running in a Kubernetes pod"},
		{name: "missing kubeconfig", args: []string{"--kubernetes", "--kubeconfig=" + kubeconfig + ".absent"}, wantStderr: "--kubeconfig: read kubeconfig"},
		{name: "no namespace", args: []string{"--kubernetes", "--kubeconfig=" + kubeconfig}, wantStderr: "--namespace is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(t.Context(), append(base, tt.args...), strings.NewReader(""), &bytes.Buffer{}, &stderr)
			if code != 1 {
				t.Errorf("exit code = %d, want 1 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestBothReady(t *testing.T) {
	storeUp, sourceReady := true, false
	store := serve.Readiness{Ready: func() bool { return storeUp }}
	source := serve.Readiness{
		Ready:    func() bool { return sourceReady },
		Warnings: func() []string { return []string{"watch reconnecting"} },
	}
	r := bothReady(store, source)
	if r.Ready() {
		t.Error("Ready() = true while the source is not ready, want false")
	}
	sourceReady = true
	if !r.Ready() {
		t.Error("Ready() = false with both ready, want true")
	}
	storeUp = false
	if r.Ready() {
		t.Error("Ready() = true while the store is down, want false")
	}
	if diff := cmp.Diff([]string{"watch reconnecting"}, r.Warnings()); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
	if !bothReady(serve.Readiness{}, serve.Readiness{}).Ready() {
		t.Error("Ready() of two empty readiness values = false, want true")
	}
}
