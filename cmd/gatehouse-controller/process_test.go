package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testproc"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/gatehouse-dev/gatehouse/controller"
	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/internal/keyset"
)

const (
	installHint     = `run eval "$(hack/install-kube-tools.sh --print-env)" first (make test does)`
	systemNamespace = "gatehouse-system"
	testIssuerURL   = "https://issuer.example.test/tenant"
	waitTimeout     = 30 * time.Second
)

// buildDir holds the binaries that buildBinaries builds once per test run;
// TestMain removes it.
var (
	buildDir  string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries are the paths of the commands under test, in one directory, so
// that `gatehouse controller` finds gatehouse-controller.
type binaries struct {
	controller string
	gatehouse  string
}

// buildBinaries builds gatehouse-controller and gatehouse once per test
// run.
func buildBinaries(t *testing.T) binaries {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "gatehouse-controller-test")
		if buildErr != nil {
			return
		}
		for name, pkg := range map[string]string{"gatehouse-controller": ".", "gatehouse": "../gatehouse"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, name), pkg).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binaries{
		controller: filepath.Join(buildDir, "gatehouse-controller"),
		gatehouse:  filepath.Join(buildDir, "gatehouse"),
	}
}

// requireAssets returns KUBEBUILDER_ASSETS. It skips the test when the
// variable is unset under -short, and fails it when unset otherwise.
func requireAssets(t *testing.T) string {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" && testing.Short() {
		t.Skipf("KUBEBUILDER_ASSETS is not set and -short is given; %s", installHint)
	}
	if assets == "" {
		t.Fatalf("KUBEBUILDER_ASSETS is not set; %s", installHint)
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		t.Fatalf("KUBEBUILDER_ASSETS: %v; %s", err, installHint)
	}
	return assets
}

// apiServer is a kube-apiserver with the OAuthClient CRD and the roles of
// config/rbac, and an admin client for the test.
type apiServer struct {
	env    *envtest.Environment
	client client.Client
	// roles are the ClusterRole and Role of config/rbac/role.yaml, which
	// bindings refer to.
	roles []rbacv1.RoleRef
	// roleNamespaces maps the name of each namespaced Role to its namespace.
	roleNamespaces map[string]string
}

// startAPIServer starts etcd and kube-apiserver, creates the roles of
// config/rbac, and stops the servers when the test ends.
func startAPIServer(t *testing.T, assets string) *apiServer {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatalf("build scheme: %v", err)
		}
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
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

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	s := &apiServer{env: env, client: c, roleNamespaces: map[string]string{}}
	s.createNamespace(t, systemNamespace)
	s.createGeneratedRoles(t)
	return s
}

func (s *apiServer) createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := s.client.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// createGeneratedRoles creates the roles of config/rbac/role.yaml, so the
// test fails when the generated RBAC lacks a permission that the controller
// uses.
func (s *apiServer) createGeneratedRoles(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var doc struct {
			metav1.TypeMeta   `json:",inline"`
			metav1.ObjectMeta `json:"metadata"`
			Rules             []rbacv1.PolicyRule `json:"rules"`
		}
		err := decoder.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("decode config/rbac/role.yaml: %v", err)
		}
		var role client.Object
		switch doc.Kind {
		case "ClusterRole":
			role = &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: doc.Name}, Rules: doc.Rules}
		case "Role":
			role = &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: doc.Namespace, Name: doc.Name}, Rules: doc.Rules}
			s.roleNamespaces[doc.Name] = doc.Namespace
		default:
			t.Fatalf("config/rbac/role.yaml: unexpected kind %q", doc.Kind)
		}
		if err := s.client.Create(t.Context(), role); err != nil {
			t.Fatalf("create %s %s: %v", doc.Kind, doc.Name, err)
		}
		s.roles = append(s.roles, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: doc.Kind, Name: doc.Name})
	}
}

// addUser creates an API server user with the generated roles and returns
// the path of its kubeconfig. With no namespaces, a ClusterRoleBinding
// grants the ClusterRole everywhere. With namespaces, a RoleBinding grants
// it in each of them only, as the README suggests for a scoped controller.
// A namespaced Role is bound in its own namespace either way.
func (s *apiServer) addUser(t *testing.T, name string, namespaces ...string) string {
	t.Helper()
	user, err := s.env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatalf("kubeconfig of %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}

	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}
	var bindings []client.Object
	for _, ref := range s.roles {
		bindingName := name + "-" + strings.ToLower(ref.Kind)
		switch {
		case ref.Kind == "Role":
			meta := metav1.ObjectMeta{Namespace: s.roleNamespaces[ref.Name], Name: bindingName}
			bindings = append(bindings, &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects})
		case len(namespaces) == 0:
			meta := metav1.ObjectMeta{Name: bindingName}
			bindings = append(bindings, &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects})
		default:
			for _, ns := range namespaces {
				meta := metav1.ObjectMeta{Namespace: ns, Name: bindingName}
				bindings = append(bindings, &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects})
			}
		}
	}
	for _, b := range bindings {
		if err := s.client.Create(t.Context(), b); err != nil {
			t.Fatalf("create %T %s/%s: %v", b, b.GetNamespace(), b.GetName(), err)
		}
	}
	return path
}

// leaseHolder returns the holder identity of the leader election Lease,
// "" when the Lease has none, and an error when the Lease is missing.
func (s *apiServer) leaseHolder(ctx context.Context) (string, error) {
	lease := &coordinationv1.Lease{}
	key := client.ObjectKey{Namespace: systemNamespace, Name: "gatehouse-controller"}
	if err := s.client.Get(ctx, key, lease); err != nil {
		return "", err
	}
	if lease.Spec.HolderIdentity == nil {
		return "", nil
	}
	return *lease.Spec.HolderIdentity, nil
}

// waitLeaseHolder waits until the Lease names holder.
func (s *apiServer) waitLeaseHolder(t *testing.T, holder string) {
	t.Helper()
	eventually(t, "lease holder "+holder, func() error {
		got, err := s.leaseHolder(t.Context())
		if err != nil {
			return err
		}
		if got != holder {
			return fmt.Errorf("got holder %q", got)
		}
		return nil
	})
}

// waitReady waits until the OAuthClient key has Ready=True.
func (s *apiServer) waitReady(t *testing.T, key client.ObjectKey) *v1alpha1.OAuthClient {
	t.Helper()
	oc := &v1alpha1.OAuthClient{}
	eventually(t, "Ready of "+key.String(), func() error {
		if err := s.client.Get(t.Context(), key, oc); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(oc.Status.Conditions, v1alpha1.ConditionReady) {
			return fmt.Errorf("conditions %v", oc.Status.Conditions)
		}
		return nil
	})
	return oc
}

// checkUntouched fails the test when the controller has acted on the
// OAuthClient key: a finalizer, a status or a credentials Secret.
func (s *apiServer) checkUntouched(t *testing.T, key client.ObjectKey) {
	t.Helper()
	oc := &v1alpha1.OAuthClient{}
	if err := s.client.Get(t.Context(), key, oc); err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(oc.Finalizers) > 0 || len(oc.Status.Conditions) > 0 || oc.Status.ClientID != "" {
		t.Errorf("%s: got finalizers %v, conditions %v and clientID %q, want the resource untouched",
			key, oc.Finalizers, oc.Status.Conditions, oc.Status.ClientID)
	}
	secret := &corev1.Secret{}
	err := s.client.Get(t.Context(), client.ObjectKey{Namespace: key.Namespace, Name: oc.CredentialsSecretName()}, secret)
	if !apierrors.IsNotFound(err) {
		t.Errorf("credentials Secret of %s: got error %v, want not found", key, err)
	}
}

func newOAuthClient(namespace, name string) *v1alpha1.OAuthClient {
	return &v1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.OAuthClientSpec{
			GrantTypes: []v1alpha1.GrantType{v1alpha1.GrantTypeClientCredentials},
			Scopes:     []v1alpha1.Scope{"orders:read"},
			Audiences:  []v1alpha1.Audience{"orders-api"},
		},
	}
}

// eventually polls check until it returns nil, and fails the test with the
// last error after waitTimeout.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	testproc.Eventually(t, what, waitTimeout, check)
}

// process is a running controller.
type process struct {
	name       string
	cmd        *exec.Cmd
	stderr     *testproc.Buffer
	exited     chan struct{}
	healthAddr string
	metricsURL string
}

// startProcess runs binary with args followed by the flags that point it
// at the API server with kubeconfig and at free loopback ports, and kills
// it if it still runs when the test ends.
func startProcess(t *testing.T, name, kubeconfig, binary string, args ...string) *process {
	t.Helper()
	p := &process{name: name, stderr: &testproc.Buffer{}, exited: make(chan struct{}),
		healthAddr: freeAddress(t)}
	metricsAddr := freeAddress(t)
	p.metricsURL = "http://" + metricsAddr + "/metrics"
	args = append(args, "--namespace="+systemNamespace, "--issuer-url="+testIssuerURL,
		"--kubeconfig="+kubeconfig, "--health-listen="+p.healthAddr, "--metrics-listen="+metricsAddr,
		"--log-level=debug")
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait() // terminate reads the exit code from ProcessState.
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// kill stops the process with SIGKILL if it still runs, and waits for it.
func (p *process) kill(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill %s: %v", p.name, err)
	}
	<-p.exited
}

// freeAddress returns a loopback address with a port that was free a
// moment ago.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// logEntry returns the first JSON log line whose msg is msg, waiting for
// it up to waitTimeout.
func (p *process) logEntry(t *testing.T, msg string) map[string]any {
	t.Helper()
	var found map[string]any
	eventually(t, p.name+" log "+msg, func() error {
		found = findLog(p.stderr.String(), msg)
		if found == nil {
			return errors.New("no such log line yet")
		}
		return nil
	})
	return found
}

// findLog returns the first JSON log line in output whose msg is msg, or
// nil.
func findLog(output, msg string) map[string]any {
	scanner := bufio.NewScanner(strings.NewReader(output))
	scanner.Buffer(nil, 1<<20)
	for scanner.Scan() {
		var entry map[string]any
		if json.Unmarshal(scanner.Bytes(), &entry) == nil && entry["msg"] == msg {
			return entry
		}
	}
	return nil
}

// identity returns the leader election identity that the process logged
// at start.
func (p *process) identity(t *testing.T) string {
	t.Helper()
	identity, _ := p.logEntry(t, "controller starting")["identity"].(string)
	if identity == "" {
		t.Fatalf("%s logged no identity at start", p.name)
	}
	return identity
}

// get returns the status code and body of an HTTP GET of url.
func get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitOK waits until GET url returns 200 and returns the body.
func (p *process) waitOK(t *testing.T, url string) string {
	t.Helper()
	var body string
	eventually(t, p.name+" GET "+url, func() error {
		code, b, err := get(t.Context(), url)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("got status %d, body %q", code, b)
		}
		body = b
		return nil
	})
	return body
}

// terminate sends SIGTERM and returns the exit code and the time the
// process took to exit. It fails the test when the process outlives the
// graceful shutdown timeout plus the Lease release.
func (p *process) terminate(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(gracefulShutdownTimeout + renewDeadline):
		t.Fatalf("%s still runs %s after SIGTERM", p.name, gracefulShutdownTimeout+renewDeadline)
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

// TestControllerProcess runs the built controller against a real API
// server: a leader scoped to one namespace, then a standby scoped to
// another, started through `gatehouse controller`, that takes over when the
// leader stops.
func TestControllerProcess(t *testing.T) {
	assets := requireAssets(t)
	bins := buildBinaries(t)
	s := startAPIServer(t, assets)
	s.createNamespace(t, "team-a")
	s.createNamespace(t, "team-b")

	// Created before any controller runs, so that a leader watching
	// team-b would reconcile it at once.
	unwatched := newOAuthClient("team-b", "billing")
	if err := s.client.Create(t.Context(), unwatched); err != nil {
		t.Fatalf("create %s/%s: %v", unwatched.Namespace, unwatched.Name, err)
	}

	// The first controller's user has the generated ClusterRole everywhere.
	first := startProcess(t, "first controller", s.addUser(t, "gatehouse-controller"),
		bins.controller, "--watch-namespaces=team-a")
	firstID := first.identity(t)

	t.Run("becomes leader", func(t *testing.T) {
		s.waitLeaseHolder(t, firstID)
		if got := first.logEntry(t, "elected leader")["identity"]; got != firstID {
			t.Errorf("elected leader log has identity %v, want %s", got, firstID)
		}
	})

	t.Run("probes answer", func(t *testing.T) {
		first.waitOK(t, "http://"+first.healthAddr+"/healthz")
		body := first.waitOK(t, "http://"+first.healthAddr+"/readyz?verbose")
		if !strings.Contains(body, "[+]informers ok") {
			t.Errorf("/readyz?verbose = %q, want the informers check listed as ok", body)
		}
	})

	t.Run("watched namespace reconciled", func(t *testing.T) {
		testWatchedNamespace(t, s)
	})

	t.Run("unwatched namespace left alone", func(t *testing.T) {
		s.checkUntouched(t, client.ObjectKeyFromObject(unwatched))
	})

	t.Run("metrics served", func(t *testing.T) {
		testMetrics(t, s, first)
	})

	// The second controller's user has it in the namespaces it works in
	// only, and it runs through `gatehouse controller`.
	second := startProcess(t, "second controller", s.addUser(t, "gatehouse-controller-scoped", "team-b", systemNamespace),
		bins.gatehouse, "controller", "--watch-namespaces=team-b")
	secondID := second.identity(t)

	t.Run("standby waits", func(t *testing.T) {
		// A standby is ready once its cache has synced; see addProbes.
		second.waitOK(t, "http://"+second.healthAddr+"/readyz")
		time.Sleep(3 * retryPeriod)
		if holder, err := s.leaseHolder(t.Context()); err != nil || holder != firstID {
			t.Errorf("lease holder = %q, %v; want %s", holder, err, firstID)
		}
		if findLog(second.stderr.String(), "elected leader") != nil {
			t.Error("second controller logged elected leader while the first holds the Lease")
		}
		s.checkUntouched(t, client.ObjectKeyFromObject(unwatched))
	})

	t.Run("leader stops on SIGTERM", func(t *testing.T) {
		code, took := first.terminate(t)
		if code != 0 {
			t.Errorf("exit code = %d, want 0; stderr:\n%s", code, first.stderr.String())
		}
		if took > gracefulShutdownTimeout {
			t.Errorf("exit took %s, want at most %s", took, gracefulShutdownTimeout)
		}
		if findLog(first.stderr.String(), "controller stopped") == nil {
			t.Error("first controller did not log controller stopped")
		}
	})

	t.Run("standby takes over", func(t *testing.T) {
		// Without a release, the Lease would stay valid for up to
		// leaseDuration after the first controller's last renewal.
		start := time.Now()
		s.waitLeaseHolder(t, secondID)
		if took := time.Since(start); took > leaseDuration-retryPeriod {
			t.Errorf("takeover took %s, want less than %s, which needs the Lease released", took, leaseDuration-retryPeriod)
		}
		s.waitReady(t, client.ObjectKeyFromObject(unwatched))
	})

	t.Run("no reconcile errors", func(t *testing.T) {
		// Each controller's cache holds the registration Secrets of the
		// other's namespace, and status writes race with the finalizer update.
		// Neither may count as a failure.
		for _, p := range []*process{first, second} {
			for _, msg := range []string{"Reconciler error", "list oauthclients for secret failed"} {
				if entry := findLog(p.stderr.String(), msg); entry != nil {
					t.Errorf("%s logged %q: %v", p.name, msg, entry["err"])
				}
			}
		}
	})

	t.Run("last controller releases lease", func(t *testing.T) {
		code, _ := second.terminate(t)
		if code != 0 {
			t.Errorf("exit code = %d, want 0; stderr:\n%s", code, second.stderr.String())
		}
		holder, err := s.leaseHolder(t.Context())
		if err != nil || holder != "" {
			t.Errorf("lease holder = %q, %v; want it cleared", holder, err)
		}
	})
}

// testWatchedNamespace creates an OAuthClient in team-a and checks that it
// becomes Ready with its credentials and registration Secrets and an Event.
func testWatchedNamespace(t *testing.T, s *apiServer) {
	oc := newOAuthClient("team-a", "orders")
	if err := s.client.Create(t.Context(), oc); err != nil {
		t.Fatalf("create team-a/orders: %v", err)
	}
	got := s.waitReady(t, client.ObjectKeyFromObject(oc))

	creds := &corev1.Secret{}
	if err := s.client.Get(t.Context(), client.ObjectKey{Namespace: "team-a", Name: got.Status.SecretName}, creds); err != nil {
		t.Fatalf("get credentials Secret: %v", err)
	}
	for key, want := range map[string]string{
		controller.KeyIssuer:   testIssuerURL,
		controller.KeyTokenURL: testIssuerURL + "/oauth2/token",
		controller.KeyClientID: got.Status.ClientID,
	} {
		if value := string(creds.Data[key]); value != want {
			t.Errorf("credentials Secret %s = %q, want %q", key, value, want)
		}
	}

	registration := &corev1.Secret{}
	name := controller.RegistrationSecretName(oc.Namespace, oc.Name)
	if err := s.client.Get(t.Context(), client.ObjectKey{Namespace: systemNamespace, Name: name}, registration); err != nil {
		t.Errorf("get registration Secret %s: %v", name, err)
	}

	eventually(t, "Event on team-a/orders", func() error {
		var events eventsv1.EventList
		if err := s.client.List(t.Context(), &events, client.InNamespace("team-a")); err != nil {
			return err
		}
		for _, ev := range events.Items {
			if ev.Regarding.UID == got.UID && ev.ReportingController == eventSource {
				return nil
			}
		}
		return fmt.Errorf("none of %d Events is from %s about the resource", len(events.Items), eventSource)
	})
}

// testMetrics checks that the leader's /metrics serves controller-runtime's
// series and Gatehouse's, and that the signing-key Secret exists.
func testMetrics(t *testing.T, s *apiServer, p *process) {
	key := client.ObjectKey{Namespace: systemNamespace, Name: keyset.DefaultSecretName}
	eventually(t, "signing-key Secret", func() error {
		return s.client.Get(t.Context(), key, &corev1.Secret{})
	})
	body := p.waitOK(t, p.metricsURL)
	for _, want := range []string{
		`controller_runtime_reconcile_total{controller="oauthclient",result="success"}`,
		`controller_runtime_reconcile_total{controller="signingkey",result="success"}`,
		`leader_election_master_status{name="gatehouse-controller"} 1`,
		`gatehouse_controller_signing_keys{state="active"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no line %s", want)
		}
	}
}

func TestMissingIssuerURL(t *testing.T) {
	bins := buildBinaries(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bins.controller, "--namespace="+systemNamespace)
	cmd.Env = []string{} // No GATEHOUSE_ISSUER_URL from the test's environment.
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("run without --issuer-url: %v, want exit code 1", err)
	}
	want := "gatehouse controller: --issuer-url is required: set it to the issuer URL that the issuer runs with\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}
