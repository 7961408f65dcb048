package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	// generatedCRDDir holds the CRDs that controller-gen writes.
	generatedCRDDir = "../../config/crd/bases"
	// chartCRDDir holds the chart's copies, which `make chart-crds` writes.
	chartCRDDir = chartDir + "/files/crds"
	// keepAnnotation makes helm uninstall leave an object in place.
	keepAnnotation = "helm.sh/resource-policy"
)

// TestChartCRDsFresh fails when the chart's copy of a CRD differs from the
// one controller-gen generated, or when a generated CRD has no copy.
func TestChartCRDsFresh(t *testing.T) {
	generated, err := filepath.Glob(filepath.Join(generatedCRDDir, "*.yaml"))
	if err != nil || len(generated) == 0 {
		t.Fatalf("list generated CRDs: %v (found %d)", err, len(generated))
	}
	copies, err := filepath.Glob(filepath.Join(chartCRDDir, "*.yaml"))
	if err != nil {
		t.Fatalf("list chart CRDs: %v", err)
	}
	if len(copies) != len(generated) {
		t.Errorf("chart has %d CRD files and config/crd/bases %d; run make chart-crds", len(copies), len(generated))
	}
	for _, path := range generated {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read generated CRD: %v", err)
		}
		got, err := os.ReadFile(filepath.Join(chartCRDDir, filepath.Base(path)))
		if err != nil {
			t.Errorf("read chart copy of %s: %v; run make chart-crds", filepath.Base(path), err)
			continue
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%s in the chart differs from config/crd/bases; run make chart-crds", filepath.Base(path))
		}
	}
}

// TestRenderedCRD checks that the CRD template renders the generated spec
// unchanged, with the keep annotation exactly when crds.keep is set.
func TestRenderedCRD(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(generatedCRDDir, "gatehouse.dev_oauthclients.yaml"))
	if err != nil {
		t.Fatalf("read generated CRD: %v", err)
	}
	objs, err := decodeObjects(string(data))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode generated CRD: %v (%d objects)", err, len(objs))
	}
	var want apiextensionsv1.CustomResourceDefinition
	convert(t, objs[0], &want)

	tests := []struct {
		name     string
		set      []string
		wantKeep bool
		wantNone bool
	}{
		{name: "default keeps", wantKeep: true},
		{name: "keep off", set: []string{"crds.keep=false"}},
		{name: "disabled", set: []string{"crds.enabled=false"}, wantNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra []string
			for _, s := range tt.set {
				extra = append(extra, "--set", s)
			}
			rendered, err := decodeObjects(runHelm(t, templateArgs(extra...)...))
			if err != nil {
				t.Fatalf("decode rendered chart: %v", err)
			}
			crds := objectsOfKind(rendered, "CustomResourceDefinition")
			if tt.wantNone {
				if len(crds) != 0 {
					t.Errorf("got %d CRDs with crds.enabled=false, want none", len(crds))
				}
				return
			}
			if len(crds) != 1 {
				t.Fatalf("got %d CRDs, want 1", len(crds))
			}
			checkRenderedCRD(t, crds[0], &want, tt.wantKeep)
		})
	}
}

// checkRenderedCRD compares a rendered CRD with the generated one.
func checkRenderedCRD(t *testing.T, obj *unstructured.Unstructured, want *apiextensionsv1.CustomResourceDefinition, wantKeep bool) {
	t.Helper()
	var got apiextensionsv1.CustomResourceDefinition
	convert(t, obj, &got)
	if diff := cmp.Diff(want.Spec, got.Spec); diff != "" {
		t.Errorf("rendered CRD spec differs from the generated one (-generated +rendered):\n%s", diff)
	}
	if got.Name != want.Name {
		t.Errorf("rendered CRD name is %q, want %q", got.Name, want.Name)
	}
	policy, ok := got.Annotations[keepAnnotation]
	if wantKeep && policy != "keep" {
		t.Errorf("annotation %s is %q, want keep", keepAnnotation, policy)
	}
	if !wantKeep && ok {
		t.Errorf("annotation %s is %q, want none", keepAnnotation, policy)
	}
	if got.Labels["app.kubernetes.io/managed-by"] != "Helm" {
		t.Errorf("rendered CRD labels are %v, want the chart's labels", got.Labels)
	}
}
