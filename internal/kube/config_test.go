package kube

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// kubeconfigWith returns a kubeconfig with two contexts, whose current one
// uses the cluster and user sections given.
func kubeconfigWith(clusterSection, userSection string) string {
	return `apiVersion: v1
kind: Config
current-context: dev
preferences: {}
clusters:
- name: other
  cluster:
    server: https://other.example:6443
- name: dev-cluster
  cluster:
` + clusterSection + `
users:
- name: dev-user
  user:
` + userSection + `
contexts:
- name: prod
  context: {cluster: other, user: dev-user, namespace: prod}
- name: dev
  context:
    cluster: dev-cluster
    user: dev-user
    namespace: gatehouse
`
}

// fakeFiles returns a readFileFunc over a map, failing for other names.
func fakeFiles(files map[string]string) readFileFunc {
	return func(path string) ([]byte, error) {
		content, ok := files[path]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		}
		return []byte(content), nil
	}
}

func TestParseKubeconfig(t *testing.T) {
	files := fakeFiles(map[string]string{
		"/home/dev/.kube/ca.pem":     "CA FILE",
		"/home/dev/.kube/client.pem": "CERT FILE",
		"/etc/keys/client.key":       "KEY FILE",
	})
	tests := []struct {
		name    string
		cluster string
		user    string
		want    *Config
	}{
		{
			name:    "embedded data and token",
			cluster: "    server: https://127.0.0.1:6443\n    certificate-authority-data: " + b64("CA DATA"),
			user:    "    token: abc.def\n    client-certificate-data: " + b64("CERT DATA") + "\n    client-key-data: " + b64("KEY DATA"),
			want: &Config{
				Server: "https://127.0.0.1:6443", CAData: []byte("CA DATA"), CertData: []byte("CERT DATA"), KeyData: []byte("KEY DATA"),
				Token: "abc.def", Namespace: "gatehouse",
			},
		},
		{
			name:    "files relative to the kubeconfig folder",
			cluster: "    server: https://api.dev.example\n    certificate-authority: ca.pem\n    tls-server-name: kubernetes.default",
			user:    "    client-certificate: client.pem\n    client-key: /etc/keys/client.key\n    tokenFile: token",
			want: &Config{
				Server: "https://api.dev.example", CAData: []byte("CA FILE"), TLSServerName: "kubernetes.default",
				CertData: []byte("CERT FILE"), KeyData: []byte("KEY FILE"), TokenFile: "/home/dev/.kube/token", Namespace: "gatehouse",
			},
		},
		{
			name:    "data wins over file",
			cluster: "    server: https://127.0.0.1:6443\n    certificate-authority: missing.pem\n    certificate-authority-data: " + b64("CA DATA"),
			user:    "    {}",
			want:    &Config{Server: "https://127.0.0.1:6443", CAData: []byte("CA DATA"), Namespace: "gatehouse"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKubeconfig([]byte(kubeconfigWith(tt.cluster, tt.user)), "/home/dev/.kube", files)
			if err != nil {
				t.Fatalf("parseKubeconfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKubeconfigRejects(t *testing.T) {
	const server = "    server: https://127.0.0.1:6443"
	tests := []struct {
		name     string
		doc      string
		wantText string
	}{
		{name: "not YAML", doc: "clusters: [", wantText: "yaml"},
		{name: "no current context", doc: "clusters: []", wantText: "current-context is not set"},
		{name: "unknown current context", doc: "current-context: x\ncontexts: []", wantText: `current-context "x": no context of that name`},
		{name: "unknown cluster", doc: "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]", wantText: `context "x": cluster "c" not found`},
		{name: "unknown user", doc: "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]", wantText: `context "x": user "u" not found`},
		{name: "no server", doc: kubeconfigWith("    certificate-authority-data: "+b64("x"), "    {}"), wantText: `cluster "dev-cluster": server is not set`},
		{name: "insecure", doc: kubeconfigWith(server+"\n    insecure-skip-tls-verify: true", "    {}"), wantText: "insecure-skip-tls-verify is not supported"},
		{name: "proxy", doc: kubeconfigWith(server+"\n    proxy-url: http://proxy:3128", "    {}"), wantText: "proxy-url is not supported"},
		{name: "missing CA file", doc: kubeconfigWith(server+"\n    certificate-authority: nowhere.pem", "    {}"), wantText: "certificate-authority: open /kube/nowhere.pem"},
		{name: "exec plugin", doc: kubeconfigWith(server, "    exec: {command: aws}"), wantText: `user "dev-user": exec credential plugins are not supported`},
		{name: "auth provider", doc: kubeconfigWith(server, "    auth-provider: {name: oidc}"), wantText: "auth-provider is not supported"},
		{name: "basic auth", doc: kubeconfigWith(server, "    username: admin\n    password: pw"), wantText: "username and password are not supported"},
		{name: "impersonation", doc: kubeconfigWith(server, "    as: admin"), wantText: "impersonation (as) is not supported"},
		{name: "certificate without key", doc: kubeconfigWith(server, "    client-certificate-data: "+b64("CERT")), wantText: "client-certificate and client-key must be set together"},
		{name: "data not base64", doc: kubeconfigWith(server+"\n    certificate-authority-data: '%%%'", "    {}"), wantText: "illegal base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseKubeconfig([]byte(tt.doc), "/kube", fakeFiles(nil))
			if !errors.Is(err, ErrInvalidKubeconfig) {
				t.Errorf("got error %v, want one wrapping ErrInvalidKubeconfig", err)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantText)
			}
		})
	}
}

func TestLoadKubeconfigReadsFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ca.pem"), "CA FILE")
	cluster := "    server: https://127.0.0.1:6443\n    certificate-authority: ca.pem"
	path := filepath.Join(dir, "config")
	writeFile(t, path, kubeconfigWith(cluster, "    tokenFile: sa-token"))

	got, err := LoadKubeconfig(path)
	if err != nil {
		t.Fatalf("LoadKubeconfig: %v", err)
	}
	want := &Config{Server: "https://127.0.0.1:6443", CAData: []byte("CA FILE"), TokenFile: filepath.Join(dir, "sa-token"), Namespace: "gatehouse"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	if _, err := LoadKubeconfig(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "read kubeconfig") {
		t.Errorf("LoadKubeconfig of a missing file: got error %v, want a read error", err)
	}
}

func TestInClusterConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "token"), "sa-token\n")
	writeFile(t, filepath.Join(dir, "ca.crt"), "CA")
	writeFile(t, filepath.Join(dir, "namespace"), "gatehouse-system\n")
	env := map[string]string{"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}

	got, err := inClusterConfig(func(k string) string { return env[k] }, dir, readCredentialFile)
	if err != nil {
		t.Fatalf("inClusterConfig: %v", err)
	}
	want := &Config{Server: "https://[fd00::1]:443", CAData: []byte("CA"), TokenFile: filepath.Join(dir, "token"), Namespace: "gatehouse-system"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}

	_, err = inClusterConfig(func(string) string { return "" }, dir, readCredentialFile)
	if !errors.Is(err, ErrNotInCluster) {
		t.Errorf("without the service environment: got error %v, want ErrNotInCluster", err)
	}
	_, err = inClusterConfig(func(k string) string { return env[k] }, t.TempDir(), readCredentialFile)
	if err == nil || !strings.Contains(err.Error(), "automountServiceAccountToken") {
		t.Errorf("without a token file: got error %v, want a hint about automountServiceAccountToken", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseKubeconfig feeds arbitrary documents to the kubeconfig parser.
// Referenced files exist only in memory, so no input reaches the disk.
func FuzzParseKubeconfig(f *testing.F) {
	f.Add([]byte(kubeconfigWith("    server: https://127.0.0.1:6443\n    certificate-authority-data: "+b64("CA"), "    token: t")))
	f.Add([]byte(kubeconfigWith("    server: https://h\n    certificate-authority: ca.pem", "    client-certificate: c\n    client-key: k")))
	f.Add([]byte(kubeconfigWith("    server: https://h", "    exec: {command: x}")))
	f.Add([]byte("current-context: a\ncontexts: [{name: a, context: {cluster: a}}]\nclusters: [{name: a, cluster: {server: h}}]"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	files := fakeFiles(map[string]string{"/kube/ca.pem": "CA", "/kube/c": "C", "/kube/k": "K"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseKubeconfig(data, "/kube", files)
		if err != nil {
			if !errors.Is(err, ErrInvalidKubeconfig) {
				t.Fatalf("error %v does not wrap ErrInvalidKubeconfig", err)
			}
			return
		}
		if cfg.Server == "" {
			t.Fatal("parsed config without a server")
		}
		if (len(cfg.CertData) == 0) != (len(cfg.KeyData) == 0) {
			t.Fatal("parsed config with only one of certificate and key")
		}
	})
}
