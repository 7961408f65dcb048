package v1alpha1_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
)

// installHint is the command that installs etcd and kube-apiserver and sets
// KUBEBUILDER_ASSETS.
const installHint = `run eval "$(hack/install-kube-tools.sh --print-env)" first (make test does)`

// Paths from this package's folder to the generated CRD and the samples.
const (
	crdDir     = "../../../config/crd/bases"
	samplesDir = "../../../config/samples"
)

func init() {
	// controller-runtime prints a stack trace when nothing sets its logger.
	handler := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})
	logf.SetLogger(logr.FromSlogHandler(handler))
}

// assetsDir returns KUBEBUILDER_ASSETS after checking that it contains
// executable etcd and kube-apiserver binaries. It fails the test, and never
// skips it, when they are missing.
func assetsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		t.Fatalf("KUBEBUILDER_ASSETS is not set; %s", installHint)
	}
	for _, name := range []string{"etcd", "kube-apiserver"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("KUBEBUILDER_ASSETS: %v; %s", err, installHint)
		}
		if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			t.Fatalf("KUBEBUILDER_ASSETS: %s is not an executable file; %s", name, installHint)
		}
	}
	return dir
}

// newScheme returns a scheme with the built-in types, the CRD types and
// this package's.
func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatalf("add client-go types to scheme: %v", err)
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		t.Fatalf("add apiextensions types to scheme: %v", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatalf("add v1alpha1 types to scheme: %v", err)
	}
	return s
}

// startAPIServer starts etcd and kube-apiserver with the generated CRD
// installed, stops them when the test ends, and returns a client and the
// configuration it uses.
func startAPIServer(t *testing.T) (client.Client, *rest.Config) {
	t.Helper()
	scheme := newScheme(t)
	env := &envtest.Environment{
		BinaryAssetsDirectory: assetsDir(t),
		CRDDirectoryPaths:     []string{crdDir},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}

	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Logf("envtest started and installed the OAuthClient CRD in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return c, cfg
}

// createNamespace creates the namespace name and fails the test on error.
func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.Name = name
	if err := c.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

func TestAPIServer(t *testing.T) {
	c, cfg := startAPIServer(t)

	t.Run("create validation", func(t *testing.T) { testCreateValidation(t, c) })
	t.Run("raw field validation", func(t *testing.T) { testRawValidation(t, c) })
	t.Run("update validation", func(t *testing.T) { testUpdateValidation(t, c) })
	t.Run("status subresource", func(t *testing.T) { testStatusSubresource(t, c) })
	t.Run("printer columns", func(t *testing.T) { testPrinterColumns(t, c) })
	t.Run("printed table", func(t *testing.T) { testPrintedTable(t, c, cfg) })
	t.Run("samples accepted", func(t *testing.T) { testSamples(t, c) })
}
