package kube

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/internal/testproc"
)

// systemNamespace is Gatehouse's namespace in these tests. The generated
// Lease Role in config/rbac names it.
const systemNamespace = "gatehouse-system"

// installHint is the command that sets up what a failing test needs.
const installHint = `run eval "$(hack/install-kube-tools.sh --print-env)" first (make test does)`

// binaries builds gatehouse and gatehouse-controller into one folder once
// for all tests, so that `gatehouse controller` finds its companion.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gatehouse-kube-bin-")
	if err != nil {
		return "", err
	}
	if err := testproc.Build(dir, "./cmd/gatehouse", "./cmd/gatehouse-controller"); err != nil {
		return "", err
	}
	return filepath.Join(dir, "gatehouse"), nil
})

// gatehouseBinary returns the path of the built gatehouse binary.
func gatehouseBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := binaries()
	if err != nil {
		tb.Fatalf("build binaries: %v", err)
	}
	return bin
}

// cluster is a running API server with Gatehouse's CRD and RBAC.
type cluster struct {
	env    *envtest.Environment
	admin  client.Client
	scheme *runtime.Scheme
	dir    string
}

// startCluster starts etcd and kube-apiserver with the OAuthClient CRD,
// creates Gatehouse's namespace and the RBAC of the controller and the
// issuer, and stops everything when the test ends. It fails, and never
// skips, when KUBEBUILDER_ASSETS is unset.
func startCluster(tb testing.TB) *cluster {
	tb.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		tb.Fatalf("KUBEBUILDER_ASSETS is not set; %s", installHint)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		tb.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		tb.Fatal(err)
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(testproc.RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		tb.Fatalf("start envtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := env.Stop(); err != nil {
			tb.Errorf("stop envtest: %v", err)
		}
	})

	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		tb.Fatalf("create client: %v", err)
	}
	c := &cluster{env: env, admin: admin, scheme: scheme, dir: tb.TempDir()}
	c.createNamespace(tb, systemNamespace)
	c.applyControllerRBAC(tb)
	c.applyIssuerRBAC(tb)
	return c
}

func (c *cluster) createNamespace(tb testing.TB, name string) {
	tb.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.admin.Create(tb.Context(), ns); err != nil {
		tb.Fatalf("create namespace %s: %v", name, err)
	}
}

// Users of the API server that the processes authenticate as.
const (
	controllerUser = "gatehouse-controller"
	issuerUser     = "gatehouse-issuer"
)

// applyControllerRBAC creates the generated ClusterRole and Lease Role of
// config/rbac and binds them to controllerUser.
func (c *cluster) applyControllerRBAC(tb testing.TB) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(testproc.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(bytes.TrimPrefix(doc, []byte("---")))) == 0 {
			continue
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			tb.Fatalf("decode config/rbac/role.yaml: %v", err)
		}
		if err := c.admin.Create(tb.Context(), &u); err != nil {
			tb.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: controllerUser}}
	c.create(tb, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: controllerUser},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "gatehouse-controller"},
		Subjects:   subject,
	})
	c.create(tb, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: controllerUser, Namespace: systemNamespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "gatehouse-controller"},
		Subjects:   subject,
	})
}

// applyIssuerRBAC grants issuerUser what the chart grants the issuer: read
// access to the Secrets of Gatehouse's namespace and nothing else.
func (c *cluster) applyIssuerRBAC(tb testing.TB) {
	tb.Helper()
	c.create(tb, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: issuerUser, Namespace: systemNamespace},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""},
			Resources: []string{"secrets"},
			Verbs:     []string{"get", "list", "watch"},
		}},
	})
	c.create(tb, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: issuerUser, Namespace: systemNamespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: issuerUser},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: issuerUser}},
	})
}

func (c *cluster) create(tb testing.TB, obj client.Object) {
	tb.Helper()
	if err := c.admin.Create(tb.Context(), obj); err != nil {
		tb.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// kubeconfig writes a kubeconfig for a new user of the API server named
// user, authenticated by a client certificate, and returns its path.
func (c *cluster) kubeconfig(tb testing.TB, user string) string {
	tb.Helper()
	u, err := c.env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		tb.Fatalf("add user %s: %v", user, err)
	}
	data, err := u.KubeConfig()
	if err != nil {
		tb.Fatalf("kubeconfig of %s: %v", user, err)
	}
	path := filepath.Join(c.dir, strings.ReplaceAll(user, ":", "-")+".kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
