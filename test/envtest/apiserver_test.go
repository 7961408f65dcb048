package envtest

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// widgetGVK is the kind that the smoke CRD defines.
var widgetGVK = schema.GroupVersionKind{Group: "smoke.gatehouse.dev", Version: "v1", Kind: "Widget"}

// rangeRuleMessage is the message of the CEL rule on Widget's spec.
const rangeRuleMessage = "minReplicas must not exceed maxReplicas"

func init() {
	// controller-runtime prints a stack trace when nothing sets its logger.
	handler := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})
	logf.SetLogger(logr.FromSlogHandler(handler))
}

// widgetCRD returns a namespaced CRD whose spec carries an
// x-kubernetes-validations CEL rule, which the API server evaluates on
// every write.
func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	replicas := apiextensionsv1.JSONSchemaProps{Type: "integer", Minimum: new(float64(0))}
	spec := apiextensionsv1.JSONSchemaProps{
		Type:       "object",
		Required:   []string{"minReplicas", "maxReplicas"},
		Properties: map[string]apiextensionsv1.JSONSchemaProps{"minReplicas": replicas, "maxReplicas": replicas},
		XValidations: apiextensionsv1.ValidationRules{{
			Rule:    "self.minReplicas <= self.maxReplicas",
			Message: rangeRuleMessage,
		}},
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.smoke.gatehouse.dev"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: widgetGVK.Group,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "widgets", Singular: "widget", Kind: widgetGVK.Kind, ListKind: "WidgetList",
			},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: widgetGVK.Version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{
					OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type:       "object",
						Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": spec},
					},
				},
			}},
		},
	}
}

// startAPIServer starts etcd and kube-apiserver from KUBEBUILDER_ASSETS with
// the Widget CRD installed, stops them when the test ends, and returns the
// client configuration.
func startAPIServer(t *testing.T) *rest.Config {
	t.Helper()
	env := &envtest.Environment{
		BinaryAssetsDirectory: assetsDir(t),
		CRDs:                  []*apiextensionsv1.CustomResourceDefinition{widgetCRD()},
		ErrorIfCRDPathMissing: true,
	}

	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Logf("envtest started etcd and kube-apiserver and installed the CRD in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	return cfg
}

func TestAPIServer(t *testing.T) {
	cfg := startAPIServer(t)
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}

	t.Run("secret round trip", func(t *testing.T) { testSecretRoundTrip(t, c) })
	t.Run("CEL validation rule", func(t *testing.T) { testCELRule(t, c) })
}

// testSecretRoundTrip creates a namespace and a Secret in it, and reads the
// Secret back.
func testSecretRoundTrip(t *testing.T, c client.Client) {
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke-secret"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}

	want := map[string][]byte{"client_id": []byte("smoke-client"), "token_url": []byte("http://127.0.0.1/oauth2/token")}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "credentials"},
		Type:       corev1.SecretTypeOpaque,
		Data:       want,
	}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatalf("create secret: %v", err)
	}

	var got corev1.Secret
	if err := c.Get(ctx, client.ObjectKeyFromObject(secret), &got); err != nil {
		t.Fatalf("get secret: %v", err)
	}
	if diff := cmp.Diff(want, got.Data); diff != "" {
		t.Errorf("secret data mismatch (-want +got):\n%s", diff)
	}
	if got.UID == "" {
		t.Errorf("got empty UID, want one set by the API server")
	}
}

// testCELRule writes Widgets that meet and break the CRD's CEL rule and
// checks that the API server rejects exactly the ones that break it.
func testCELRule(t *testing.T, c client.Client) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke-cel"}}
	if err := c.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}

	tests := []struct {
		name        string
		min, max    int64
		wantInvalid bool
	}{
		{name: "min below max", min: 1, max: 3},
		{name: "min equal to max", min: 2, max: 2},
		{name: "min above max", min: 4, max: 1, wantInvalid: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			widget := newWidget(ns.Name, i, tt.min, tt.max)
			err := c.Create(t.Context(), widget)
			checkCreateResult(t, err, tt.wantInvalid)
		})
	}
}

// checkCreateResult checks that err is nil, or an Invalid error that names
// the CEL rule's message when wantInvalid is set.
func checkCreateResult(t *testing.T, err error, wantInvalid bool) {
	t.Helper()
	if !wantInvalid {
		if err != nil {
			t.Fatalf("create widget: got error %v, want nil", err)
		}
		return
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("create widget: got error %v, want an Invalid error", err)
	}
	if !strings.Contains(err.Error(), rangeRuleMessage) {
		t.Errorf("create widget: got error %q, want it to contain %q", err, rangeRuleMessage)
	}
}

// newWidget returns an unstructured Widget named after index.
func newWidget(namespace string, index int, minReplicas, maxReplicas int64) *unstructured.Unstructured {
	widget := &unstructured.Unstructured{}
	widget.SetGroupVersionKind(widgetGVK)
	widget.SetNamespace(namespace)
	widget.SetName(fmt.Sprintf("widget-%d", index))
	widget.Object["spec"] = map[string]any{"minReplicas": minReplicas, "maxReplicas": maxReplicas}
	return widget
}
