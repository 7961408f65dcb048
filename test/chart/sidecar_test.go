package chart

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

const (
	// sidecarPatchFile is the example patch that adds ext_authz to an app.
	sidecarPatchFile = chartDir + "/examples/sidecar-patch.yaml"
	// sidecarNamespace is the app namespace of the sidecar tests.
	sidecarNamespace = "payments"
)

// sidecarPatch reads the example patch as a Deployment, rejecting unknown
// fields.
func sidecarPatch(t *testing.T) *appsv1.Deployment {
	t.Helper()
	data, err := os.ReadFile(sidecarPatchFile)
	if err != nil {
		t.Fatalf("read sidecar example: %v", err)
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		t.Fatalf("decode sidecar example: %v", err)
	}
	return &d
}

// sidecarContainer returns the ext_authz container of the example patch.
func sidecarContainer(t *testing.T) corev1.Container {
	t.Helper()
	ctrs := sidecarPatch(t).Spec.Template.Spec.Containers
	if len(ctrs) != 1 {
		t.Fatalf("sidecar example has %d containers, want 1", len(ctrs))
	}
	return ctrs[0]
}

// argValue returns the value of --name in args, or fails the test.
func argValue(t *testing.T, args []string, name string) string {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	t.Fatalf("no --%s in %v", name, args)
	return ""
}

func TestSidecarExample(t *testing.T) {
	ctr := sidecarContainer(t)
	checkContainerSecurity(t, "sidecar/"+ctr.Name, ctr)

	if got := argValue(t, ctr.Args, "grpc-listen"); got != "127.0.0.1:9001" {
		t.Errorf("--grpc-listen is %q, want 127.0.0.1:9001 (loopback, the port of config/istio/service-entry.yaml)", got)
	}
	if got := argValue(t, ctr.Args, "http-listen"); got != "" {
		t.Errorf("--http-listen is %q, want it off", got)
	}

	chart := readChartMetadata(t)
	if want := ":" + chart.AppVersion; !strings.HasSuffix(ctr.Image, want) {
		t.Errorf("sidecar image is %q, want the tag of the chart's appVersion %q", ctr.Image, chart.AppVersion)
	}

	// The volume must name the ConfigMap that the chart renders into the
	// app namespace, mounted where --config-file looks.
	objs := render(t, valuesCase{name: "sidecar"}.with("extauthz.sidecar.namespaces={"+sidecarNamespace+"}"))
	var rendered *corev1.ConfigMap
	for _, o := range objectsOfKind(objs, "ConfigMap") {
		if o.GetNamespace() == sidecarNamespace {
			rendered = &corev1.ConfigMap{}
			convert(t, o, rendered)
		}
	}
	if rendered == nil {
		t.Fatalf("chart rendered no ConfigMap in %s", sidecarNamespace)
	}
	checkSidecarVolume(t, sidecarPatch(t).Spec.Template.Spec, ctr, rendered.Name)
}

// checkSidecarVolume checks that --config-file of ctr points into a mount of
// the ConfigMap configMap.
func checkSidecarVolume(t *testing.T, spec corev1.PodSpec, ctr corev1.Container, configMap string) {
	t.Helper()
	configFile := argValue(t, ctr.Args, "config-file")
	idx := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool {
		return v.ConfigMap != nil && v.ConfigMap.Name == configMap
	})
	if idx < 0 {
		t.Fatalf("sidecar example mounts no ConfigMap named %s", configMap)
	}
	volume := spec.Volumes[idx].Name
	for _, m := range ctr.VolumeMounts {
		if m.Name == volume && configFile == m.MountPath+"/extauthz.yaml" {
			return
		}
	}
	t.Errorf("--config-file %s is not extauthz.yaml in the mount of volume %s: %v", configFile, volume, ctr.VolumeMounts)
}

// chartMetadata is the part of Chart.yaml the tests read.
type chartMetadata struct {
	Version    string `json:"version"`
	AppVersion string `json:"appVersion"`
}

func readChartMetadata(t *testing.T) chartMetadata {
	t.Helper()
	data, err := os.ReadFile(chartDir + "/Chart.yaml")
	if err != nil {
		t.Fatalf("read Chart.yaml: %v", err)
	}
	var m chartMetadata
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("parse Chart.yaml: %v", err)
	}
	return m
}

// with returns a copy of c that also sets the given --set values.
func (c valuesCase) with(sets ...string) valuesCase {
	out := valuesCase{name: c.name, files: slices.Clone(c.files), sets: slices.Clone(c.sets)}
	out.sets = append(out.sets, sets...)
	return out
}

// patchedAppDeployment returns an app Deployment in namespace ns with the
// sidecar example applied as kubectl patch applies it: a strategic merge
// patch.
func patchedAppDeployment(t *testing.T, ns string) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{"app": "payments"}
	app := appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "payments",
					Image: "registry.example.com/payments:1.0",
				}}},
			},
		},
	}

	original, err := json.Marshal(app)
	if err != nil {
		t.Fatalf("marshal app Deployment: %v", err)
	}

	patchYAML, err := os.ReadFile(sidecarPatchFile)
	if err != nil {
		t.Fatalf("read sidecar example: %v", err)
	}
	patch, err := yaml.YAMLToJSON(patchYAML)
	if err != nil {
		t.Fatalf("convert sidecar example to JSON: %v", err)
	}

	merged, err := strategicpatch.StrategicMergePatch(original, patch, appsv1.Deployment{})
	if err != nil {
		t.Fatalf("apply sidecar example: %v", err)
	}
	var out appsv1.Deployment
	if err := json.Unmarshal(merged, &out); err != nil {
		t.Fatalf("decode patched Deployment: %v", err)
	}
	return &out
}

func TestSidecarPatchMerges(t *testing.T) {
	d := patchedAppDeployment(t, sidecarNamespace)
	var names []string
	for _, c := range d.Spec.Template.Spec.Containers {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if want := []string{"gatehouse-extauthz", "payments"}; !slices.Equal(names, want) {
		t.Errorf("containers after the patch are %v, want %v", names, want)
	}
	if got := len(d.Spec.Template.Spec.Volumes); got != 1 {
		t.Errorf("patched Deployment has %d volumes, want 1", got)
	}
	if d.Name != "payments" || d.Spec.Template.Labels["app"] != "payments" {
		t.Errorf("patch changed the app's identity: %s %v", d.Name, d.Spec.Template.Labels)
	}
}
