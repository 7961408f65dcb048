package chart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"
)

const (
	// crdName is the CRD that the chart installs.
	crdName = "oauthclients.gatehouse.dev"
	// waitTimeout bounds each wait for the API server to reach a state.
	waitTimeout = 30 * time.Second
)

func init() {
	// controller-runtime prints a stack trace when nothing sets its logger.
	handler := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})
	logf.SetLogger(logr.FromSlogHandler(handler))
}

// serviceMonitorCRD is the smallest CRD that lets the API server store the
// chart's ServiceMonitors: the Prometheus Operator's group, version and
// names, with any content.
func serviceMonitorCRD() *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "servicemonitors.monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "servicemonitors", Singular: "servicemonitor", Kind: "ServiceMonitor", ListKind: "ServiceMonitorList",
			},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &preserve,
				}},
			}},
		},
	}
}

// cluster is a running envtest API server with a client and a kubeconfig
// file for helm.
type cluster struct {
	client     client.Client
	kubeconfig string
}

// startCluster starts etcd and kube-apiserver from KUBEBUILDER_ASSETS with
// the ServiceMonitor CRD installed, and stops them when the test ends.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := &envtest.Environment{
		BinaryAssetsDirectory: requireTool(t, "KUBEBUILDER_ASSETS"),
		CRDs:                  []*apiextensionsv1.CustomResourceDefinition{serviceMonitorCRD()},
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})

	// helm needs a kubeconfig file; envtest makes one for a user with its
	// own client certificate.
	user, err := env.AddUser(envtest.User{Name: "helm-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("add envtest user: %v", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatalf("build scheme: %v", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return &cluster{client: c, kubeconfig: path}
}

// helm runs helm against the cluster and fails the test when it fails.
func (c *cluster) helm(t *testing.T, args ...string) string {
	t.Helper()
	return runHelm(t, append(args, "--kubeconfig", c.kubeconfig)...)
}

// createNamespaces creates each namespace.
func (c *cluster) createNamespaces(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := c.client.Create(t.Context(), ns); err != nil {
			t.Fatalf("create namespace %s: %v", name, err)
		}
	}
}

// TestInstall installs the chart into a real API server with every feature
// on, checks that each object was stored and the CRD serves OAuthClients,
// and uninstalls it. The CRD survives because crds.keep is set. A second
// install adopts the kept CRD with crds.keep=false, and its uninstall
// removes the CRD. No pod runs: envtest has no kubelet or controllers.
func TestInstall(t *testing.T) {
	requireTool(t, "HELM")
	c := startCluster(t)
	c.createNamespaces(t, releaseNamespace, sidecarNamespace, "orders")

	allFeatures := valuesCases[1]
	objs := render(t, allFeatures)
	checkStrictDryRun(t, c, objs)

	c.helm(t, append([]string{"install", releaseName, chartDir, "--namespace", releaseNamespace}, allFeatures.valuesArgs()...)...)
	manifest, err := decodeObjects(c.helm(t, "get", "manifest", releaseName, "--namespace", releaseNamespace))
	if err != nil {
		t.Fatalf("decode release manifest: %v", err)
	}
	if len(manifest) != len(objs) {
		t.Errorf("release holds %d objects, helm template renders %d", len(manifest), len(objs))
	}
	checkStored(t, c, manifest)
	waitCRDEstablished(t, c)
	createSampleClient(t, c)
	createSidecarApp(t, c)

	c.helm(t, "uninstall", releaseName, "--namespace", releaseNamespace)
	checkDeleted(t, c, manifest, crdName)
	if !crdExists(t, c) {
		t.Fatalf("CRD %s was deleted by helm uninstall although crds.keep is true", crdName)
	}

	c.helm(t, "install", releaseName, chartDir, "--namespace", releaseNamespace, "--set", "crds.keep=false")
	waitCRDEstablished(t, c)
	c.helm(t, "uninstall", releaseName, "--namespace", releaseNamespace)
	waitCRDGone(t, c)
}

// checkStrictDryRun sends every rendered object to the API server as a
// dry-run create with strict field validation, so that a field the API does
// not know fails the test instead of being dropped. A dry run stores
// nothing, which is fine because no rendered object is an OAuthClient.
func checkStrictDryRun(t *testing.T, c *cluster, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		obj := o.DeepCopy()
		err := c.client.Create(t.Context(), obj, client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict))
		if err != nil {
			t.Errorf("dry-run create %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// checkStored checks that each object of the release exists in the API
// server.
func checkStored(t *testing.T, c *cluster, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := c.client.Get(t.Context(), client.ObjectKeyFromObject(o), got); err != nil {
			t.Errorf("get %s %s/%s after install: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// checkDeleted checks that each object of the release except the kept one
// is gone or being deleted.
func checkDeleted(t *testing.T, c *cluster, objs []*unstructured.Unstructured, kept string) {
	t.Helper()
	for _, o := range objs {
		if o.GetName() == kept {
			continue
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		err := c.client.Get(t.Context(), client.ObjectKeyFromObject(o), got)
		if err == nil && got.GetDeletionTimestamp() == nil {
			t.Errorf("%s %s/%s still exists after helm uninstall", o.GetKind(), o.GetNamespace(), o.GetName())
		}
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("get %s %s/%s after uninstall: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// waitCRDEstablished waits until the CRD has the Established condition.
func waitCRDEstablished(t *testing.T, c *cluster) {
	t.Helper()
	err := poll(t.Context(), func(ctx context.Context) (bool, error) {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.client.Get(ctx, client.ObjectKey{Name: crdName}, &crd); err != nil {
			return false, err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s not established: %v", crdName, err)
	}
}

// waitCRDGone waits until the CRD no longer exists.
func waitCRDGone(t *testing.T, c *cluster) {
	t.Helper()
	err := poll(t.Context(), func(context.Context) (bool, error) {
		return !crdExists(t, c), nil
	})
	if err != nil {
		t.Fatalf("CRD %s still exists after helm uninstall with crds.keep=false: %v", crdName, err)
	}
}

// crdExists reports whether the CRD exists and is not being deleted.
func crdExists(t *testing.T, c *cluster) bool {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	err := c.client.Get(t.Context(), client.ObjectKey{Name: crdName}, &crd)
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("get CRD %s: %v", crdName, err)
	}
	return crd.DeletionTimestamp == nil
}

// poll calls done every 100 ms until it returns true, an error, or
// waitTimeout passes.
func poll(ctx context.Context, done wait.ConditionWithContextFunc) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, waitTimeout, true, done)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s", waitTimeout)
	}
	return err
}

// createSampleClient creates the OAuthClient of config/samples in the
// orders namespace, so the installed CRD must accept it, CEL rules
// included.
func createSampleClient(t *testing.T, c *cluster) {
	t.Helper()
	data, err := os.ReadFile("../../config/samples/gatehouse_v1alpha1_oauthclient_service.yaml")
	if err != nil {
		t.Fatalf("read sample OAuthClient: %v", err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		t.Fatalf("parse sample OAuthClient: %v", err)
	}
	if err := c.client.Create(t.Context(), obj); err != nil {
		t.Fatalf("create sample OAuthClient through the installed CRD: %v", err)
	}
}

// createSidecarApp creates an app Deployment with the sidecar example
// applied, in the namespace that holds the sidecar ConfigMap.
func createSidecarApp(t *testing.T, c *cluster) {
	t.Helper()
	d := patchedAppDeployment(t, sidecarNamespace)
	if err := c.client.Create(t.Context(), d, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
		t.Fatalf("create app Deployment with the sidecar example: %v", err)
	}
	var cm corev1.ConfigMap
	key := client.ObjectKey{Namespace: sidecarNamespace, Name: "gatehouse-extauthz-sidecar"}
	if err := c.client.Get(t.Context(), key, &cm); err != nil {
		t.Errorf("get the sidecar ConfigMap that the example mounts: %v", err)
	}
}
