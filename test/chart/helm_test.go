package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	// chartDir is the chart under test, relative to this package.
	chartDir = "../../charts/gatehouse"
	// valuesDir holds the values files of the test cases.
	valuesDir = "testdata/values"
	// releaseName and releaseNamespace match the names that config/istio
	// assumes: Service gatehouse-extauthz in namespace gatehouse.
	releaseName      = "gatehouse"
	releaseNamespace = "gatehouse"
	// installHint is the command that sets HELM and KUBEBUILDER_ASSETS.
	installHint = `run eval "$(hack/install-kube-tools.sh --print-env)" first (make test does)`
)

// valuesCase is a named set of values files and --set values; none means
// the chart's defaults.
type valuesCase struct {
	name  string
	files []string
	sets  []string
}

// valuesCases are the value sets that lint, snapshot, security and flag
// tests render.
var valuesCases = []valuesCase{
	{name: "default"},
	{name: "all-features", files: []string{"all-features.yaml"}},
	{name: "namespaced", files: []string{"namespaced.yaml"}},
	{name: "extauthz-only", files: []string{"extauthz-only.yaml"}},
}

// valuesArgs returns the -f and --set flags of c.
func (c valuesCase) valuesArgs() []string {
	var args []string
	for _, f := range c.files {
		args = append(args, "-f", filepath.Join(valuesDir, f))
	}
	for _, s := range c.sets {
		args = append(args, "--set", s)
	}
	return args
}

// requireTool returns the value of the environment variable name, which
// must point at an executable file or folder. It skips the test when the
// variable is unset under -short, and fails it otherwise.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		if testing.Short() {
			t.Skipf("%s is not set and -short is given; %s", name, installHint)
		}
		t.Fatalf("%s is not set; %s", name, installHint)
	}
	if _, err := os.Stat(value); err != nil {
		t.Fatalf("%s: %v; %s", name, err, installHint)
	}
	return value
}

// helmResult is the output of one helm run.
type helmResult struct {
	stdout, stderr string
	err            error
}

// execHelm runs helm with args, with its cache, config and data folders in
// a temporary folder so that no state outside the test is read or written.
func execHelm(t *testing.T, args ...string) helmResult {
	t.Helper()
	helm := requireTool(t, "HELM")
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), helm, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return helmResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// runHelm runs helm with args and fails the test when it fails.
func runHelm(t *testing.T, args ...string) string {
	t.Helper()
	res := execHelm(t, args...)
	if res.err != nil {
		t.Fatalf("helm %s: %v\nstderr:\n%s", strings.Join(args, " "), res.err, res.stderr)
	}
	return res.stdout
}

// templateArgs returns the arguments of `helm template` for the test
// release with extra arguments (values files, --set) appended.
func templateArgs(extra ...string) []string {
	args := []string{"template", releaseName, chartDir, "--namespace", releaseNamespace}
	return append(args, extra...)
}

// renderText returns the manifests that `helm template` renders for c.
func renderText(t *testing.T, c valuesCase) string {
	t.Helper()
	return runHelm(t, templateArgs(c.valuesArgs()...)...)
}

// render returns the objects that `helm template` renders for c.
func render(t *testing.T, c valuesCase) []*unstructured.Unstructured {
	t.Helper()
	objs, err := decodeObjects(renderText(t, c))
	if err != nil {
		t.Fatalf("decode rendered manifests of %s: %v", c.name, err)
	}
	return objs
}

// decodeObjects splits a multi-document YAML stream into objects, skipping
// empty documents.
func decodeObjects(manifests string) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifests)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("%w in document:\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// objectsOfKind returns the objects of kind, in rendering order.
func objectsOfKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// findObject returns the object of kind and name, or fails the test.
func findObject(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s named %s among the rendered objects", kind, name)
	return nil
}

// convert turns an unstructured object into the typed object out.
func convert(t *testing.T, obj *unstructured.Unstructured, out any) {
	t.Helper()
	data, err := yaml.Marshal(obj.Object)
	if err != nil {
		t.Fatalf("marshal %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("decode %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
}
