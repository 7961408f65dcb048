package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testproc"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

const (
	installHint     = `run eval "$(hack/install-kube-tools.sh --print-env)" first (make test does)`
	crdDir          = "../config/crd/bases"
	systemNamespace = "gatehouse-system"
	testIssuerURL   = "https://issuer.example.test"
	testTokenURL    = "https://issuer.example.test/oauth2/token"
	waitTimeout     = 20 * time.Second
)

// capturedLogs holds every log line of the controller at debug level, so
// that a test can check that no client secret reaches the log.
var capturedLogs testproc.Buffer

func init() {
	// controller-runtime prints a stack trace when nothing sets its logger.
	handler := slog.NewMultiHandler(
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}),
		slog.NewJSONHandler(&capturedLogs, &slog.HandlerOptions{Level: slog.LevelDebug}),
	)
	logf.SetLogger(logr.FromSlogHandler(handler))
}

// unmanagedLabel marks an OAuthClient that the manager's cache leaves
// out, so that only a test that calls Reconcile itself acts on it.
const unmanagedLabel = "test.gatehouse.dev/unmanaged"

// testEnv is an API server with the reconciler running in a manager.
type testEnv struct {
	cfg        *rest.Config
	client     client.Client
	reconciler *OAuthClientReconciler
	clock      *fakeClock
}

// startEnv starts etcd, kube-apiserver and a manager running the
// reconciler, and stops them when the test ends. It fails, and never
// skips, when KUBEBUILDER_ASSETS is unset.
func startEnv(t *testing.T) *testEnv {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatalf("KUBEBUILDER_ASSETS is not set; %s", installHint)
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		t.Fatalf("KUBEBUILDER_ASSETS: %v; %s", err, installHint)
	}
	scheme := newScheme(t)
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{crdDir},
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

	unmanaged, err := labels.Parse("!" + unmanagedLabel)
	if err != nil {
		t.Fatalf("parse label selector: %v", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  cache.Options{ByObject: map[client.Object]cache.ByObject{&v1alpha1.OAuthClient{}: {Label: unmanaged}}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatalf("create manager: %v", err)
	}
	r := &OAuthClientReconciler{
		Client:    mgr.GetClient(),
		Scheme:    scheme,
		Namespace: systemNamespace,
		IssuerURL: testIssuerURL,
		TokenURL:  testTokenURL,
		Recorder:  mgr.GetEventRecorder("gatehouse-controller"),
	}
	clock := &fakeClock{}
	r.Now = clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		t.Fatalf("set up reconciler: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with error: %v", err)
		}
	})

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	createNamespace(t, c, systemNamespace)
	return &testEnv{cfg: cfg, client: c, reconciler: r, clock: clock}
}

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatalf("add client-go types to scheme: %v", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatalf("add v1alpha1 types to scheme: %v", err)
	}
	return s
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// newOAuthClient returns a confidential client with all three grants.
func newOAuthClient(namespace, name string) *v1alpha1.OAuthClient {
	return &v1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.OAuthClientSpec{
			GrantTypes:          []v1alpha1.GrantType{v1alpha1.GrantTypePassword, v1alpha1.GrantTypeClientCredentials, v1alpha1.GrantTypeRefreshToken},
			Scopes:              []v1alpha1.Scope{"orders:read", "openid"},
			Audiences:           []v1alpha1.Audience{"orders-api"},
			AccessTokenTTL:      &metav1.Duration{Duration: 5 * time.Minute},
			RefreshTokenTTL:     &metav1.Duration{Duration: 24 * time.Hour},
			RefreshTokenIdleTTL: &metav1.Duration{Duration: 8 * time.Hour},
		},
	}
}

func (e *testEnv) create(t *testing.T, oc *v1alpha1.OAuthClient) {
	t.Helper()
	if err := e.client.Create(t.Context(), oc); err != nil {
		t.Fatalf("create oauthclient %s/%s: %v", oc.Namespace, oc.Name, err)
	}
}

// eventually polls check until it returns nil, and fails the test with the
// last error after waitTimeout.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	testproc.Eventually(t, what, waitTimeout, check)
}

// waitReady waits for the Ready condition of oc to have status and reason
// for the current generation, and returns the resource.
func (e *testEnv) waitReady(t *testing.T, key client.ObjectKey, status metav1.ConditionStatus, reason string) *v1alpha1.OAuthClient {
	t.Helper()
	oc := &v1alpha1.OAuthClient{}
	eventually(t, "ready condition of "+key.String(), func() error {
		if err := e.client.Get(t.Context(), key, oc); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(oc.Status.Conditions, v1alpha1.ConditionReady)
		if cond == nil {
			return errors.New("no Ready condition")
		}
		if cond.Status != status || cond.Reason != reason || oc.Status.ObservedGeneration != oc.Generation {
			return fmt.Errorf("got Ready=%s reason %s at observedGeneration %d, want Ready=%s reason %s at %d",
				cond.Status, cond.Reason, oc.Status.ObservedGeneration, status, reason, oc.Generation)
		}
		return nil
	})
	return oc
}

func (e *testEnv) getSecret(t *testing.T, namespace, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := e.client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
		t.Fatalf("get secret %s/%s: %v", namespace, name, err)
	}
	return s
}

// editSecret changes a Secret as a user would, retrying on a conflict with
// a concurrent write.
func (e *testEnv) editSecret(t *testing.T, namespace, name string, edit func(*corev1.Secret)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s := &corev1.Secret{}
		if err := e.client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
			return err
		}
		edit(s)
		return e.client.Update(t.Context(), s)
	})
	if err != nil {
		t.Fatalf("edit secret %s/%s: %v", namespace, name, err)
	}
}

func (e *testEnv) registration(t *testing.T, oc *v1alpha1.OAuthClient) *corev1.Secret {
	t.Helper()
	return e.getSecret(t, systemNamespace, RegistrationSecretName(oc.Namespace, oc.Name))
}

// decodeRegistration parses the registration Secret s the way the issuer
// reads a client file, and validates the client with the issuer's rules.
func decodeRegistration(t *testing.T, s *corev1.Secret) registrationClient {
	t.Helper()
	var file registrationFile
	if err := yaml.UnmarshalStrict(s.Data[RegistrationKey], &file); err != nil {
		t.Fatalf("decode registration %s: %v", s.Name, err)
	}
	if len(file.Clients) != 1 {
		t.Fatalf("got %d clients in registration, want 1", len(file.Clients))
	}
	rc := file.Clients[0]
	c := clients.Client{ID: rc.ClientID, SecretHashes: rc.SecretHashes, Public: rc.Public,
		GrantTypes: rc.GrantTypes, Scopes: rc.Scopes, Audiences: rc.Audiences}
	if _, err := clients.NewStatic([]clients.Client{c}); err != nil {
		t.Fatalf("issuer rejects the registration: %v", err)
	}
	return rc
}

func TestOAuthClientReconciler(t *testing.T) {
	e := startEnv(t)
	t.Run("create writes both secrets", e.testCreate)
	t.Run("public client has no secret", e.testPublic)
	t.Run("secret conflict", e.testConflict)
	t.Run("credentials edit restored", e.testCredentialsEdited)
	t.Run("credentials delete same secret", e.testCredentialsDeleted)
	t.Run("client secret edit restored", e.testClientSecretEdited)
	t.Run("escrow restored", e.testEscrowRestored)
	t.Run("credentials and escrow deleted", e.testCredentialsAndEscrowDeleted)
	t.Run("write failure keeps secret", e.testWriteFailure)
	t.Run("registration restored", e.testRegistrationRestored)
	t.Run("same name two namespaces", e.testTwoNamespaces)
	t.Run("client id too long", e.testInvalidSpec)
	t.Run("delete removes registration", e.testDelete)
	t.Run("finalizer of gone resource", e.testFinalizerOfGoneResource)
	t.Run("spec stays with its applier", e.testSpecOwnership)
	t.Run("recreated resource gets credentials", e.testRecreate)
	t.Run("secret name change moves secret", e.testRename)
	t.Run("no rotation before interval", e.testNoEarlyRotation)
	t.Run("rotation by interval", e.testRotationByInterval)
	t.Run("rotation by annotation", e.testRotationByAnnotation)
	t.Run("public client never rotates", e.testPublicNoRotation)
	// The subtests above that check a rotation schedule need the clock
	// that this one moves forward.
	t.Run("delete during overlap", e.testDeleteDuringOverlap)
	t.Run("issuer selects no escrow", e.testEscrowHidden)
	t.Run("no secret in logs or events", e.testNoSecretLeak)
}

func (e *testEnv) testCreate(t *testing.T) {
	createNamespace(t, e.client, "create")
	oc := newOAuthClient("create", "orders")
	e.create(t, oc)
	got := e.waitReady(t, client.ObjectKeyFromObject(oc), metav1.ConditionTrue, v1alpha1.ReasonProvisioned)

	if got.Status.ClientID != "create.orders" {
		t.Errorf("got status.clientID %q, want create.orders", got.Status.ClientID)
	}
	if got.Status.SecretName != "orders-oauth" {
		t.Errorf("got status.secretName %q, want orders-oauth", got.Status.SecretName)
	}
	if !slices.Contains(got.Finalizers, RegistrationFinalizer) {
		t.Errorf("got finalizers %v, want %s", got.Finalizers, RegistrationFinalizer)
	}

	creds := e.getSecret(t, "create", "orders-oauth")
	secret := string(creds.Data[KeyClientSecret])
	if !validSecret([]byte(secret)) {
		t.Errorf("got client_secret of %d characters, want base64url of %d bytes", len(secret), secretBytes)
	}
	wantData := map[string]string{KeyClientID: "create.orders", KeyClientSecret: secret, KeyTokenURL: testTokenURL, KeyIssuer: testIssuerURL}
	if diff := cmp.Diff(wantData, stringData(creds)); diff != "" {
		t.Errorf("credentials data mismatch (-want +got):\n%s", diff)
	}
	wantOwner := []metav1.OwnerReference{{APIVersion: "gatehouse.dev/v1alpha1", Kind: "OAuthClient", Name: "orders",
		UID: got.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	if diff := cmp.Diff(wantOwner, creds.OwnerReferences); diff != "" {
		t.Errorf("credentials owner references mismatch (-want +got):\n%s", diff)
	}
	if m := managers(creds); !slices.Contains(m, FieldManager) {
		t.Errorf("got field managers %v, want %s", m, FieldManager)
	}

	reg := e.registration(t, oc)
	wantLabels := map[string]string{LabelRegistration: "client", LabelClientNamespace: "create", LabelClientName: "orders"}
	if diff := cmp.Diff(wantLabels, reg.Labels); diff != "" {
		t.Errorf("registration labels mismatch (-want +got):\n%s", diff)
	}
	wantReg := registrationClient{
		ClientID:       "create.orders",
		SecretHashes:   []string{clients.HashSecret(secret)},
		GrantTypes:     []clients.GrantType{"password", "client_credentials", "refresh_token"},
		Scopes:         []string{"orders:read", "openid"},
		Audiences:      []string{"orders-api"},
		AccessTokenTTL: "5m0s", RefreshTokenTTL: "24h0m0s", RefreshTokenIdleTTL: "8h0m0s",
	}
	if diff := cmp.Diff(wantReg, decodeRegistration(t, reg)); diff != "" {
		t.Errorf("registration mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(string(reg.Data[RegistrationKey]), secret) {
		t.Errorf("registration Secret contains the plain client secret")
	}

	escrow := e.escrow(t, oc)
	if diff := cmp.Diff(map[string]string{KeyClientSecret: secret}, stringData(escrow)); diff != "" {
		t.Errorf("escrow data mismatch (-want +got):\n%s", diff)
	}
	wantLabels = map[string]string{LabelEscrow: "client", LabelClientNamespace: "create", LabelClientName: "orders"}
	if diff := cmp.Diff(wantLabels, escrow.Labels); diff != "" {
		t.Errorf("escrow labels mismatch (-want +got):\n%s", diff)
	}
	if len(escrow.OwnerReferences) != 0 {
		t.Errorf("got escrow owner references %v, want none", escrow.OwnerReferences)
	}

	e.waitEvent(t, got, corev1.EventTypeNormal, "Created")
	e.testSteadyState(t, got, creds, reg, escrow)
}

// waitEvent waits for an Event of type and reason about oc.
func (e *testEnv) waitEvent(t *testing.T, oc *v1alpha1.OAuthClient, eventType, reason string) {
	t.Helper()
	eventually(t, "event "+reason, func() error {
		var list eventsv1.EventList
		if err := e.client.List(t.Context(), &list, client.InNamespace(oc.Namespace)); err != nil {
			return err
		}
		var seen []string
		for _, ev := range list.Items {
			if ev.Regarding.UID == oc.UID && ev.Type == eventType && ev.Reason == reason {
				return nil
			}
			seen = append(seen, ev.Type+"/"+ev.Reason)
		}
		return fmt.Errorf("got events %v, want %s/%s", seen, eventType, reason)
	})
}

// testSteadyState runs one more reconcile and checks that it wrote
// nothing: the resource and the Secrets keep their resourceVersions.
func (e *testEnv) testSteadyState(t *testing.T, oc *v1alpha1.OAuthClient, secrets ...*corev1.Secret) {
	t.Helper()
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(oc)}
	if _, err := e.reconciler.Reconcile(t.Context(), req); err != nil {
		t.Fatalf("forced reconcile: %v", err)
	}
	after := &v1alpha1.OAuthClient{}
	if err := e.client.Get(t.Context(), req.NamespacedName, after); err != nil {
		t.Fatalf("get oauthclient: %v", err)
	}
	if after.ResourceVersion != oc.ResourceVersion {
		t.Errorf("got oauthclient resourceVersion %s after a no-op reconcile, want %s", after.ResourceVersion, oc.ResourceVersion)
	}
	for _, before := range secrets {
		now := e.getSecret(t, before.Namespace, before.Name)
		if now.ResourceVersion != before.ResourceVersion {
			t.Errorf("got secret %s resourceVersion %s after a no-op reconcile, want %s", before.Name, now.ResourceVersion, before.ResourceVersion)
		}
	}
}

func (e *testEnv) testPublic(t *testing.T) {
	createNamespace(t, e.client, "public")
	oc := newOAuthClient("public", "cli")
	oc.Spec.Public = true
	oc.Spec.GrantTypes = []v1alpha1.GrantType{v1alpha1.GrantTypePassword, v1alpha1.GrantTypeRefreshToken}
	e.create(t, oc)
	e.waitReady(t, client.ObjectKeyFromObject(oc), metav1.ConditionTrue, v1alpha1.ReasonProvisioned)

	creds := e.getSecret(t, "public", "cli-oauth")
	if _, ok := creds.Data[KeyClientSecret]; ok {
		t.Errorf("got client_secret in the credentials Secret of a public client, want none")
	}
	rc := decodeRegistration(t, e.registration(t, oc))
	if !rc.Public || len(rc.SecretHashes) != 0 {
		t.Errorf("got public %v and %d secret hashes, want public true and none", rc.Public, len(rc.SecretHashes))
	}
	escrowKey := client.ObjectKey{Namespace: systemNamespace, Name: EscrowSecretName("public", "cli")}
	if err := e.client.Get(t.Context(), escrowKey, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("got error %v reading the escrow Secret of a public client, want not found", err)
	}
}

func (e *testEnv) testConflict(t *testing.T) {
	createNamespace(t, e.client, "conflict")
	foreign := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "conflict", Name: "taken-oauth"},
		Data:       map[string][]byte{"password": []byte("not the controller's")},
	}
	if err := e.client.Create(t.Context(), foreign); err != nil {
		t.Fatalf("create foreign secret: %v", err)
	}
	oc := newOAuthClient("conflict", "taken")
	e.create(t, oc)
	got := e.waitReady(t, client.ObjectKeyFromObject(oc), metav1.ConditionFalse, v1alpha1.ReasonSecretConflict)
	cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
	if !strings.Contains(cond.Message, "spec.secretName") {
		t.Errorf("got message %q, want it to say what to change", cond.Message)
	}

	e.waitEvent(t, got, corev1.EventTypeWarning, v1alpha1.ReasonSecretConflict)

	now := e.getSecret(t, "conflict", "taken-oauth")
	if now.ResourceVersion != foreign.ResourceVersion {
		t.Errorf("got foreign secret resourceVersion %s, want %s (untouched)", now.ResourceVersion, foreign.ResourceVersion)
	}
	if diff := cmp.Diff(map[string]string{"password": "not the controller's"}, stringData(now)); diff != "" {
		t.Errorf("foreign secret data changed (-want +got):\n%s", diff)
	}

	if err := e.client.Delete(t.Context(), foreign); err != nil {
		t.Fatalf("delete foreign secret: %v", err)
	}
	e.waitReady(t, client.ObjectKeyFromObject(oc), metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
}

// provisioned creates oc, waits for Ready and returns its client secret.
func (e *testEnv) provisioned(t *testing.T, oc *v1alpha1.OAuthClient) string {
	t.Helper()
	createNamespace(t, e.client, oc.Namespace)
	e.create(t, oc)
	e.waitReady(t, client.ObjectKeyFromObject(oc), metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
	return string(e.getSecret(t, oc.Namespace, oc.CredentialsSecretName()).Data[KeyClientSecret])
}

func (e *testEnv) testCredentialsEdited(t *testing.T) {
	oc := newOAuthClient("edit", "orders")
	secret := e.provisioned(t, oc)
	regBefore := e.registration(t, oc)

	e.editSecret(t, "edit", "orders-oauth", func(s *corev1.Secret) {
		s.Data[KeyTokenURL] = []byte("https://attacker.example.test/token")
		delete(s.Data, KeyIssuer)
	})

	want := map[string]string{KeyClientID: "edit.orders", KeyClientSecret: secret, KeyTokenURL: testTokenURL, KeyIssuer: testIssuerURL}
	eventually(t, "credentials restored", func() error {
		got := stringData(e.getSecret(t, "edit", "orders-oauth"))
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Errorf("credentials mismatch (-want +got):\n%s", diff)
		}
		return nil
	})
	if now := e.registration(t, oc); now.ResourceVersion != regBefore.ResourceVersion {
		t.Errorf("got registration resourceVersion %s, want %s (the secret did not change)", now.ResourceVersion, regBefore.ResourceVersion)
	}
}

func (e *testEnv) testRegistrationRestored(t *testing.T) {
	oc := newOAuthClient("reg", "orders")
	secret := e.provisioned(t, oc)
	wantHashes := []string{clients.HashSecret(secret)}

	e.editSecret(t, systemNamespace, RegistrationSecretName("reg", "orders"), func(s *corev1.Secret) {
		s.Data[RegistrationKey] = []byte("clients: []\n")
	})
	e.waitHashes(t, oc, wantHashes)

	if err := e.client.Delete(t.Context(), e.registration(t, oc)); err != nil {
		t.Fatalf("delete registration secret: %v", err)
	}
	e.waitHashes(t, oc, wantHashes)

	if got := string(e.getSecret(t, "reg", "orders-oauth").Data[KeyClientSecret]); got != secret {
		t.Errorf("client secret changed after the registration was rebuilt")
	}
}

func (e *testEnv) waitHashes(t *testing.T, oc *v1alpha1.OAuthClient, want []string) {
	t.Helper()
	eventually(t, "registration restored", func() error {
		reg := &corev1.Secret{}
		key := client.ObjectKey{Namespace: systemNamespace, Name: RegistrationSecretName(oc.Namespace, oc.Name)}
		if err := e.client.Get(t.Context(), key, reg); err != nil {
			return err
		}
		var file registrationFile
		if err := yaml.Unmarshal(reg.Data[RegistrationKey], &file); err != nil || len(file.Clients) != 1 {
			return fmt.Errorf("registration not restored yet (decode error %v)", err)
		}
		if diff := cmp.Diff(want, file.Clients[0].SecretHashes); diff != "" {
			return fmt.Errorf("secret hashes mismatch (-want +got):\n%s", diff)
		}
		return nil
	})
}

func (e *testEnv) testTwoNamespaces(t *testing.T) {
	first := newOAuthClient("team-a", "shop")
	second := newOAuthClient("team-b", "shop")
	e.provisioned(t, first)
	e.provisioned(t, second)

	idA := decodeRegistration(t, e.registration(t, first)).ClientID
	idB := decodeRegistration(t, e.registration(t, second)).ClientID
	if idA == idB {
		t.Errorf("got client ID %q for both namespaces, want distinct IDs", idA)
	}
	nameA, nameB := RegistrationSecretName("team-a", "shop"), RegistrationSecretName("team-b", "shop")
	if nameA == nameB {
		t.Errorf("got registration Secret %s for both namespaces, want distinct names", nameA)
	}
}

func (e *testEnv) testInvalidSpec(t *testing.T) {
	createNamespace(t, e.client, "invalid")
	oc := newOAuthClient("invalid", fmt.Sprintf("%0250d", 0))
	oc.Spec.SecretName = "long-oauth"
	e.create(t, oc)
	e.waitReady(t, client.ObjectKeyFromObject(oc), metav1.ConditionFalse, v1alpha1.ReasonInvalidSpec)

	if err := e.client.Get(t.Context(), client.ObjectKey{Namespace: "invalid", Name: "long-oauth"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("got error %v reading the credentials Secret of an invalid client, want not found", err)
	}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(oc)}
	_, err := e.reconciler.Reconcile(t.Context(), req)
	if !errors.Is(err, reconcile.TerminalError(nil)) {
		t.Errorf("got reconcile error %v, want a terminal error", err)
	}
}

func (e *testEnv) testDelete(t *testing.T) {
	oc := newOAuthClient("delete", "orders")
	e.provisioned(t, oc)
	regName := RegistrationSecretName("delete", "orders")

	escrowName := EscrowSecretName("delete", "orders")
	e.escrow(t, oc)

	if err := e.client.Delete(t.Context(), oc); err != nil {
		t.Fatalf("delete oauthclient: %v", err)
	}
	eventually(t, "oauthclient, registration and escrow removed", func() error {
		err := e.client.Get(t.Context(), client.ObjectKeyFromObject(oc), &v1alpha1.OAuthClient{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("oauthclient still there (get error %v)", err)
		}
		for _, name := range []string{regName, escrowName} {
			err = e.client.Get(t.Context(), client.ObjectKey{Namespace: systemNamespace, Name: name}, &corev1.Secret{})
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("secret %s still there (get error %v)", name, err)
			}
		}
		return nil
	})
}

func stringData(s *corev1.Secret) map[string]string {
	out := make(map[string]string, len(s.Data))
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

func managers(s *corev1.Secret) []string {
	var names []string
	for _, f := range s.ManagedFields {
		names = append(names, f.Manager)
	}
	return names
}

// testRecreate deletes a resource and creates it again with the same name.
// envtest runs no garbage collector, so the test deletes the old
// credentials Secret itself, as the collector would.
func (e *testEnv) testRecreate(t *testing.T) {
	oc := newOAuthClient("again", "orders")
	old := e.provisioned(t, oc)
	key := client.ObjectKeyFromObject(oc)
	if err := e.client.Delete(t.Context(), oc); err != nil {
		t.Fatalf("delete oauthclient: %v", err)
	}
	eventually(t, "oauthclient removed", func() error {
		if err := e.client.Get(t.Context(), key, &v1alpha1.OAuthClient{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("oauthclient still there (get error %v)", err)
		}
		return nil
	})

	again := newOAuthClient("again", "orders")
	e.create(t, again)
	got := e.waitReady(t, key, metav1.ConditionFalse, v1alpha1.ReasonSecretConflict)
	cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
	if !strings.Contains(cond.Message, "garbage collector") {
		t.Errorf("got message %q, want it to name the garbage collector", cond.Message)
	}

	if err := e.client.Delete(t.Context(), e.getSecret(t, "again", "orders-oauth")); err != nil {
		t.Fatalf("delete old credentials secret: %v", err)
	}
	e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
	fresh := string(e.getSecret(t, "again", "orders-oauth").Data[KeyClientSecret])
	if fresh == old {
		t.Errorf("got the deleted resource's client secret, want a new one")
	}
	rc := decodeRegistration(t, e.registration(t, again))
	if diff := cmp.Diff([]string{clients.HashSecret(fresh)}, rc.SecretHashes); diff != "" {
		t.Errorf("registration secret hashes mismatch (-want +got):\n%s", diff)
	}
}

func (e *testEnv) testRename(t *testing.T) {
	oc := newOAuthClient("rename", "orders")
	secret := e.provisioned(t, oc)
	key := client.ObjectKeyFromObject(oc)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current := &v1alpha1.OAuthClient{}
		if err := e.client.Get(t.Context(), key, current); err != nil {
			return err
		}
		current.Spec.SecretName = "orders-credentials"
		return e.client.Update(t.Context(), current)
	})
	if err != nil {
		t.Fatalf("change spec.secretName: %v", err)
	}

	got := e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
	if got.Status.SecretName != "orders-credentials" {
		t.Errorf("got status.secretName %q, want orders-credentials", got.Status.SecretName)
	}
	if moved := string(e.getSecret(t, "rename", "orders-credentials").Data[KeyClientSecret]); moved != secret {
		t.Errorf("got a new client secret after the rename, want the previous one")
	}
	err = e.client.Get(t.Context(), client.ObjectKey{Namespace: "rename", Name: "orders-oauth"}, &corev1.Secret{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("got error %v reading the previous credentials Secret, want not found", err)
	}
}

// testNoSecretLeak checks that no client secret that the controller wrote
// during the other subtests appears in its log or in an Event.
func (e *testEnv) testNoSecretLeak(t *testing.T) {
	var secrets corev1.SecretList
	if err := e.client.List(t.Context(), &secrets); err != nil {
		t.Fatalf("list secrets: %v", err)
	}
	var events eventsv1.EventList
	if err := e.client.List(t.Context(), &events); err != nil {
		t.Fatalf("list events: %v", err)
	}
	logs := capturedLogs.String()
	if !strings.Contains(logs, "client secret generated") {
		t.Fatalf("got no controller log lines, want the log captured")
	}

	if !strings.Contains(logs, "client secret restored from the escrow") {
		t.Errorf("got no log line of a restored client secret, want those of the other subtests")
	}

	checked := 0
	for _, s := range secrets.Items {
		for _, key := range []string{KeyClientSecret, EscrowKeyPrevious} {
			secret := string(s.Data[key])
			if !validSecret([]byte(secret)) {
				continue
			}
			checked++
			if strings.Contains(logs, secret) {
				t.Errorf("log contains the %s of %s/%s", key, s.Namespace, s.Name)
			}
			for _, ev := range events.Items {
				if strings.Contains(ev.Note, secret) {
					t.Errorf("event %s/%s contains the %s of %s/%s", ev.Namespace, ev.Name, key, s.Namespace, s.Name)
				}
			}
		}
	}
	if checked == 0 {
		t.Errorf("got no client secrets to check, want those of the other subtests")
	}
}

// appliedClient returns an OAuthClient as a GitOps tool applies it: an
// unstructured object whose durations keep the form that the user wrote.
func appliedClient(namespace, name, accessTokenTTL string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "OAuthClient",
		"metadata":   map[string]any{"namespace": namespace, "name": name},
		"spec": map[string]any{
			"grantTypes":     []any{"client_credentials"},
			"audiences":      []any{"orders-api"},
			"accessTokenTTL": accessTokenTTL,
		},
	}}
}

// testSpecOwnership applies a resource as Argo CD does, with server-side
// apply under its own field manager, and checks that the controller takes
// no spec field from it, so that the next apply of a changed spec
// succeeds without force.
func (e *testEnv) testSpecOwnership(t *testing.T) {
	createNamespace(t, e.client, "gitops")
	applied := appliedClient("gitops", "orders", "10m")
	if err := e.client.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(applied), client.FieldOwner("argocd")); err != nil {
		t.Fatalf("apply oauthclient: %v", err)
	}
	key := client.ObjectKey{Namespace: "gitops", Name: "orders"}
	got := e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonProvisioned)

	if got.Generation != 1 {
		t.Errorf("got generation %d after the controller's writes, want 1", got.Generation)
	}
	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("OAuthClient"))
	if err := e.client.Get(t.Context(), key, stored); err != nil {
		t.Fatalf("get oauthclient: %v", err)
	}
	if ttl, _, _ := unstructured.NestedString(stored.Object, "spec", "accessTokenTTL"); ttl != "10m" {
		t.Errorf("got spec.accessTokenTTL %q, want 10m as applied", ttl)
	}
	checkSpecManagers(t, got)

	changed := appliedClient("gitops", "orders", "15m")
	if err := e.client.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(changed), client.FieldOwner("argocd")); err != nil {
		t.Fatalf("apply changed spec without force: %v", err)
	}
	got = e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
	if got.Generation != 2 {
		t.Errorf("got generation %d after one spec change, want 2", got.Generation)
	}
	if ttl := decodeRegistration(t, e.registration(t, got)).AccessTokenTTL; ttl != "15m0s" {
		t.Errorf("got registration accessTokenTTL %q, want 15m0s", ttl)
	}
}

// checkSpecManagers checks that only the argocd field manager owns spec
// fields of oc, and that the controller's field manager owns the
// finalizers.
func checkSpecManagers(t *testing.T, oc *v1alpha1.OAuthClient) {
	t.Helper()
	ownsFinalizers := false
	for _, entry := range oc.ManagedFields {
		var fields map[string]any
		if entry.FieldsV1 == nil {
			continue
		}
		if err := json.Unmarshal(entry.FieldsV1.Raw, &fields); err != nil {
			t.Fatalf("decode managed fields of %s: %v", entry.Manager, err)
		}
		if _, ok := fields["f:spec"]; ok && entry.Manager != "argocd" {
			t.Errorf("field manager %s (%s) owns spec fields, want only argocd", entry.Manager, entry.Operation)
		}
		metadata, _ := fields["f:metadata"].(map[string]any)
		if _, ok := metadata["f:finalizers"]; ok && entry.Manager == FieldManager {
			ownsFinalizers = true
		}
	}
	if !ownsFinalizers {
		t.Errorf("got no managed fields entry of %s for the finalizers, want one", FieldManager)
	}
}
