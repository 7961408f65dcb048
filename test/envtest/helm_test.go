package envtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// helmVersion is the release that hack/install-kube-tools.sh builds.
const helmVersion = "v4.3.2"

// smokeChart is a minimal chart: one ConfigMap built from a value and the
// release name.
var smokeChart = map[string]string{
	"Chart.yaml":  "apiVersion: v2\nname: smoke\nversion: 0.1.0\n",
	"values.yaml": "greeting: hello\n",
	"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
data:
  greeting: {{ .Values.greeting | quote }}
`,
}

// runHelm runs the helm binary with args, with its cache, config and data
// folders in a temporary folder, and returns its stdout.
func runHelm(t *testing.T, args ...string) string {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), helmBinary(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// writeChart writes files under a new temporary folder and returns it.
func writeChart(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "smoke")
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("create chart folder: %v", err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatalf("write chart file: %v", err)
		}
	}
	return dir
}

func TestHelmVersion(t *testing.T) {
	got := strings.TrimSpace(runHelm(t, "version", "--short"))
	if !strings.HasPrefix(got, helmVersion) {
		t.Errorf("helm version --short: got %q, want prefix %q", got, helmVersion)
	}
}

func TestHelmTemplate(t *testing.T) {
	chart := writeChart(t, smokeChart)

	tests := []struct {
		name string
		args []string
		want map[string]any
	}{
		{
			name: "default values",
			args: []string{"template", "first", chart},
			want: configMap("first-smoke", "hello"),
		},
		{
			name: "value set on command line",
			args: []string{"template", "second", chart, "--set", "greeting=hi there"},
			want: configMap("second-smoke", "hi there"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runHelm(t, tt.args...)
			var got map[string]any
			if err := yaml.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("parse helm template output: %v\noutput:\n%s", err, out)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rendered manifest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// configMap returns the manifest that the smoke chart renders, as YAML
// decodes it.
func configMap(name, greeting string) map[string]any {
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": name},
		"data":       map[string]any{"greeting": greeting},
	}
}
