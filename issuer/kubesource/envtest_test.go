package kubesource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/keyset"
	"github.com/gatehouse-dev/gatehouse/internal/kube"
	"github.com/gatehouse-dev/gatehouse/issuer"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

const installHint = `run eval "$(hack/install-kube-tools.sh --print-env)" first (make test does)`

// waitTimeout bounds every wait for a change to reach the issuer, except
// where a test sets a tighter bound.
const waitTimeout = 20 * time.Second

// apiServer is the one etcd and kube-apiserver that the tests of this
// package share. Each test works in its own namespace.
var apiServer struct {
	once  sync.Once
	env   *envtest.Environment
	admin client.Client
	err   error
}

func TestMain(m *testing.M) {
	// controller-runtime prints a stack trace when nothing sets its logger.
	logf.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	code := m.Run()
	if apiServer.env != nil {
		if err := apiServer.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop envtest: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// startAPIServer starts the shared API server on first use. It skips the
// test only when KUBEBUILDER_ASSETS is unset and -short is given.
func startAPIServer(t *testing.T) (*envtest.Environment, client.Client) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		if testing.Short() {
			t.Skipf("skipping a test against a real API server: KUBEBUILDER_ASSETS is not set; %s", installHint)
		}
		t.Fatalf("KUBEBUILDER_ASSETS is not set; %s", installHint)
	}
	apiServer.once.Do(func() {
		env := &envtest.Environment{BinaryAssetsDirectory: assets}
		cfg, err := env.Start()
		if err != nil {
			apiServer.err = fmt.Errorf("start envtest: %w", err)
			return
		}
		apiServer.env = env
		apiServer.admin, apiServer.err = client.New(cfg, client.Options{})
	})
	if apiServer.err != nil {
		t.Fatal(apiServer.err)
	}
	return apiServer.env, apiServer.admin
}

// fixture is an issuer that learns its clients and keys from the Secrets
// of its own namespace, served on loopback.
type fixture struct {
	admin     client.Client
	namespace string
	source    *Source
	tokenURL  string
	issuerURL string
	logs      *logBuffer
	registry  *prometheus.Registry
}

var namespaceCount atomic.Int32

// newFixture creates a namespace, an API user with the issuer's RBAC in
// it (get, list and watch on Secrets), and an issuer whose source connects
// as that user through a kubeconfig file. watchTimeout sets the watch's
// timeoutSeconds; zero means the default.
func newFixture(t *testing.T, watchTimeout time.Duration) *fixture {
	t.Helper()
	env, admin := startAPIServer(t)
	f := &fixture{admin: admin, namespace: fmt.Sprintf("gatehouse-%d", namespaceCount.Add(1)), logs: &logBuffer{}, registry: prometheus.NewRegistry()}
	f.create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.namespace}})
	kubeconfig := f.issuerUser(t, env)

	cfg, err := kube.LoadKubeconfig(kubeconfig)
	if err != nil {
		t.Fatalf("LoadKubeconfig: %v", err)
	}
	kc, err := kube.NewClient(cfg)
	if err != nil {
		t.Fatalf("kube.NewClient: %v", err)
	}
	f.source, err = New(Options{
		Client: kc, Namespace: f.namespace, WatchTimeout: watchTimeout,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		Logger: f.logs.logger(), Metrics: f.registry,
	})
	if err != nil {
		t.Fatalf("kubesource.New: %v", err)
	}
	f.startIssuer(t)
	f.run(t)
	return f
}

// issuerUser adds an API user bound to a Role with the issuer's RBAC in
// the fixture's namespace, and returns the path of its kubeconfig.
func (f *fixture) issuerUser(t *testing.T, env *envtest.Environment) string {
	t.Helper()
	name := "issuer-" + f.namespace
	f.create(t, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "issuer", Namespace: f.namespace},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}}},
	})
	f.create(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "issuer", Namespace: f.namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "issuer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: name}},
	})
	user, err := env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		t.Fatalf("kubeconfig of %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (f *fixture) startIssuer(t *testing.T) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	f.issuerURL = "http://" + ts.Listener.Addr().String()
	f.tokenURL = f.issuerURL + "/oauth2/token"
	noUsers, err := users.NewStatic(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := issuer.New(issuer.Config{
		Issuer: f.issuerURL, Keys: f.source, Clients: f.source, Users: noUsers,
		Logger: f.logs.logger(), Metrics: f.registry,
	})
	if err != nil {
		t.Fatalf("issuer.New: %v", err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
}

// run starts the source's watch and stops it when the test ends.
func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.source.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return within %v of the cancellation", waitTimeout)
		}
	})
}

func (f *fixture) create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := f.admin.Create(t.Context(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// putSecret creates the Secret, or replaces the data of an existing one.
func (f *fixture) putSecret(t *testing.T, name, labelValue string, data map[string][]byte) {
	t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.namespace}}
	err := f.admin.Get(t.Context(), client.ObjectKeyFromObject(secret), secret)
	if err != nil && client.IgnoreNotFound(err) != nil {
		t.Fatalf("get secret %s: %v", name, err)
	}
	secret.Labels = map[string]string{keyset.LabelRegistration: labelValue}
	secret.Data = data
	if err != nil {
		f.create(t, secret)
		return
	}
	if err := f.admin.Update(t.Context(), secret); err != nil {
		t.Fatalf("update secret %s: %v", name, err)
	}
}

func (f *fixture) deleteSecret(t *testing.T, name string) {
	t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.namespace}}
	if err := f.admin.Delete(t.Context(), secret); err != nil {
		t.Fatalf("delete secret %s: %v", name, err)
	}
}

// putRegistration writes a registration Secret with clientsFile.
func (f *fixture) putRegistration(t *testing.T, name, clientsFile string) {
	t.Helper()
	f.putSecret(t, name, ClientLabelValue, map[string][]byte{ClientsDataKey: []byte(clientsFile)})
}

// putKeys writes the key-set Secret.
func (f *fixture) putKeys(t *testing.T, set *keyset.Set) {
	t.Helper()
	data, err := keyset.Marshal(set)
	if err != nil {
		t.Fatalf("marshal key set: %v", err)
	}
	f.putSecret(t, keyset.DefaultSecretName, keyset.LabelValue, map[string][]byte{keyset.SecretDataKey: data})
}

// tokenResponse is the decoded body of a token endpoint response.
type tokenResponse struct {
	status      int
	retryAfter  string
	AccessToken string `json:"access_token"`
	Error       string `json:"error"`
}

// requestToken sends a client_credentials request.
func (f *fixture) requestToken(t *testing.T, clientID, secret string) tokenResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.tokenURL, strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	out := tokenResponse{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode token response: %v", err)
	}
	return out
}

// waitForToken polls the token endpoint until the response matches, and
// returns it with the time it took. It fails the test after within.
func (f *fixture) waitForToken(t *testing.T, clientID, secret string, within time.Duration, match func(tokenResponse) bool) (tokenResponse, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		resp := f.requestToken(t, clientID, secret)
		if match(resp) {
			return resp, time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("token request for %s: got status %d error %q after %v, want a matching response", clientID, resp.status, resp.Error, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func issued(r tokenResponse) bool { return r.status == http.StatusOK && r.AccessToken != "" }
func invalidClient(r tokenResponse) bool {
	return r.status == http.StatusUnauthorized && r.Error == "invalid_client"
}

// waitReady polls Ready until it is true.
func (f *fixture) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !f.source.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("source not ready within %v; logs:\n%s", waitTimeout, f.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jwksKeyIDs returns the key IDs that the issuer publishes, in order.
func (f *fixture) jwksKeyIDs(t *testing.T) []string {
	t.Helper()
	resp, err := http.Get(f.issuerURL + "/oauth2/jwks")
	if err != nil {
		t.Fatalf("get JWKS: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jose.ParseJWKS(body)
	if err != nil {
		t.Fatalf("parse JWKS %s: %v", body, err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

// introspectActive reports whether the issuer finds token active when its
// owner clientID sends the introspection request.
func (f *fixture) introspectActive(t *testing.T, clientID, secret, token string) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.issuerURL+"/oauth2/introspect", strings.NewReader("token="+url.QueryEscape(token)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode introspection response: %v", err)
	}
	return body.Active
}

func tokenKeyID(t *testing.T, raw string) string {
	t.Helper()
	token, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatalf("parse token header: %v", err)
	}
	kid, _ := token.Header["kid"].(string)
	return kid
}

// clientFile returns a clients file with one client_credentials client
// whose secret hash is that of secret.
func clientFile(id, secret string) string {
	return fmt.Sprintf("clients:\n  - clientID: %s\n    secretHashes: [%q]\n    grantTypes: [client_credentials]\n    audiences: [demo-api]\n",
		id, clients.HashSecret(secret))
}

// keySet returns a set with active, an optional next key and retiring keys.
func keySet(active, next *jose.SigningKey, retiring ...*jose.SigningKey) *keyset.Set {
	now := time.Now().UTC().Truncate(time.Second)
	set := &keyset.Set{Keys: []keyset.Key{{Signing: active, State: keyset.StateActive, Created: now, Activated: now}}}
	if next != nil {
		set.Keys = append(set.Keys, keyset.Key{Signing: next, State: keyset.StateNext, Created: now})
	}
	for _, k := range retiring {
		set.Keys = append(set.Keys, keyset.Key{Signing: k, State: keyset.StateRetiring, Created: now, Activated: now, Retired: now})
	}
	return set
}

func TestRegistrationSecretLifecycle(t *testing.T) {
	f := newFixture(t, 0)
	f.putKeys(t, keySet(generateKey(t, jose.ES256), nil))
	f.waitReady(t)

	f.putRegistration(t, "app-a", clientFile("app-a", "first-secret"))
	_, took := f.waitForToken(t, "app-a", "first-secret", time.Second, issued)
	t.Logf("first token %v after the registration Secret was created", took)

	f.putRegistration(t, "app-a", clientFile("app-a", "second-secret"))
	f.waitForToken(t, "app-a", "second-secret", waitTimeout, issued)
	if resp := f.requestToken(t, "app-a", "first-secret"); !invalidClient(resp) {
		t.Errorf("old secret after the edit: got status %d error %q, want 401 invalid_client", resp.status, resp.Error)
	}

	f.deleteSecret(t, "app-a")
	f.waitForToken(t, "app-a", "second-secret", waitTimeout, invalidClient)
}

func TestInvalidRegistrationSkipped(t *testing.T) {
	f := newFixture(t, 0)
	f.putKeys(t, keySet(generateKey(t, jose.ES256), nil))
	f.putRegistration(t, "a-broken", "clients:\n  - clientID: broken\n    grantTypes: [implicit]\n    audiences: [x]\n    public: true\n")
	f.putRegistration(t, "b-good", clientFile("good", "good-secret"))
	f.waitReady(t)

	f.waitForToken(t, "good", "good-secret", waitTimeout, issued)
	if resp := f.requestToken(t, "broken", ""); resp.status == http.StatusOK {
		t.Error("client of the invalid Secret got a token, want none")
	}
	if !strings.Contains(f.logs.String(), `unknown grant type \"implicit\"`) {
		t.Errorf("logs do not name the invalid grant type:\n%s", f.logs)
	}
	if got := gaugeValue(t, f.registry, "gatehouse_issuer_registered_clients"); got != 1 {
		t.Errorf("gatehouse_issuer_registered_clients = %v, want 1", got)
	}
	if got := gaugeValue(t, f.registry, "gatehouse_issuer_kubernetes_watch_connected"); got != 1 {
		t.Errorf("gatehouse_issuer_kubernetes_watch_connected = %v, want 1", got)
	}
}

func TestNotReadyUntilKeySet(t *testing.T) {
	f := newFixture(t, 0)
	f.putRegistration(t, "app", clientFile("app", "app-secret"))
	deadline := time.Now().Add(waitTimeout)
	for _, ok := f.source.Client("app"); !ok; _, ok = f.source.Client("app") {
		if time.Now().After(deadline) {
			t.Fatalf("client app unknown within %v", waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if f.source.Ready() {
		t.Error("Ready() = true without a key-set Secret, want false")
	}
	resp := f.requestToken(t, "app", "app-secret")
	if resp.status != http.StatusServiceUnavailable || resp.Error != "temporarily_unavailable" || resp.retryAfter == "" {
		t.Errorf("token request without keys: got status %d error %q Retry-After %q, want 503 temporarily_unavailable with Retry-After",
			resp.status, resp.Error, resp.retryAfter)
	}

	f.putKeys(t, keySet(generateKey(t, jose.ES256), nil))
	f.waitReady(t)
	f.waitForToken(t, "app", "app-secret", waitTimeout, issued)
}

func TestKeySetRotation(t *testing.T) {
	f := newFixture(t, 0)
	first, second, third := generateKey(t, jose.ES256), generateKey(t, jose.ES256), generateKey(t, jose.ES256)
	f.putKeys(t, keySet(first, second))
	f.putRegistration(t, "app", clientFile("app", "app-secret"))
	f.waitReady(t)

	before, _ := f.waitForToken(t, "app", "app-secret", waitTimeout, issued)
	if got := tokenKeyID(t, before.AccessToken); got != first.ID {
		t.Errorf("token kid = %s, want the active key %s", got, first.ID)
	}
	if diff := cmp.Diff([]string{second.ID, first.ID}, f.jwksKeyIDs(t)); diff != "" {
		t.Errorf("JWKS key IDs with next and active (-want +got):\n%s", diff)
	}

	f.putKeys(t, keySet(second, third, first))
	f.waitForToken(t, "app", "app-secret", waitTimeout, func(r tokenResponse) bool {
		return issued(r) && tokenKeyID(t, r.AccessToken) == second.ID
	})
	if diff := cmp.Diff([]string{third.ID, second.ID, first.ID}, f.jwksKeyIDs(t)); diff != "" {
		t.Errorf("JWKS key IDs with next, active and retiring (-want +got):\n%s", diff)
	}
	if !f.introspectActive(t, "app", "app-secret", before.AccessToken) {
		t.Error("token of the retiring key introspects as inactive, want active")
	}

	f.putSecret(t, keyset.DefaultSecretName, keyset.LabelValue, map[string][]byte{keyset.SecretDataKey: []byte("{}")})
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(f.logs.String(), "signing-key Secret invalid, keeping the last good keys") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the invalid key set within %v", waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := f.requestToken(t, "app", "app-secret")
	if !issued(after) || tokenKeyID(t, after.AccessToken) != second.ID {
		t.Errorf("after an invalid key set: got status %d, want a token of the last good key %s", after.status, second.ID)
	}
}

func TestWatchSurvivesServerTimeout(t *testing.T) {
	// The API server ends each watch after one second.
	f := newFixture(t, time.Second)
	f.putKeys(t, keySet(generateKey(t, jose.ES256), nil))
	f.waitReady(t)

	deadline := time.Now().Add(waitTimeout)
	for f.logs.count("kubernetes watch ended, watching again") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the API server did not end two watches within %v; logs:\n%s", waitTimeout, f.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.putRegistration(t, "late", clientFile("late", "late-secret"))
	f.waitForToken(t, "late", "late-secret", time.Second, issued)
	if n := f.logs.count("kubernetes secrets listed again (resync)"); n != 0 {
		t.Errorf("got %d resyncs, want 0: a watch that the server ends continues from its resourceVersion", n)
	}
}
