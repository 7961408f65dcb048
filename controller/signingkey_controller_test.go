package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/keyset"
)

var testKeyPolicy = keyset.Policy{
	Algorithm:      jose.ES256,
	RotationPeriod: 720 * time.Hour,
	PublishLead:    10 * time.Minute,
	RetireAfter:    24*time.Hour + 5*time.Minute,
}

// keyAPIServer is an API server that the signing-key subtests share. Each
// subtest runs its own manager on its own Secret.
type keyAPIServer struct {
	cfg    *rest.Config
	client client.Client
}

// keyRun is one manager running a SigningKeyReconciler on one Secret.
type keyRun struct {
	*keyAPIServer
	secretName string
	clock      *fakeClock
	// writes counts the write requests that the reconciler sent.
	writes *atomic.Int64
	// conflictNext makes the next apply of the reconciler fail with a
	// conflict, because the test changes the Secret just before it.
	conflictNext *atomic.Bool
}

// startKeyAPIServer starts etcd and kube-apiserver and stops them when the
// test ends. Without KUBEBUILDER_ASSETS it skips under -short and fails
// otherwise.
func startKeyAPIServer(t *testing.T) *keyAPIServer {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" && testing.Short() {
		t.Skipf("KUBEBUILDER_ASSETS is not set; %s", installHint)
	}
	if assets == "" {
		t.Fatalf("KUBEBUILDER_ASSETS is not set; %s", installHint)
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		t.Fatalf("KUBEBUILDER_ASSETS: %v; %s", err, installHint)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets, Scheme: newScheme(t)}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	createNamespace(t, c, systemNamespace)
	return &keyAPIServer{cfg: cfg, client: c}
}

// startReconciler runs a manager with a SigningKeyReconciler for the Secret
// secretName until the calling test ends.
func (s *keyAPIServer) startReconciler(t *testing.T, secretName string) *keyRun {
	t.Helper()
	mgr, err := ctrl.NewManager(s.cfg, ctrl.Options{
		Scheme:                 s.client.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatalf("create manager: %v", err)
	}

	k := &keyRun{keyAPIServer: s, secretName: secretName, clock: &fakeClock{}, writes: &atomic.Int64{}, conflictNext: &atomic.Bool{}}
	writer, err := k.countingClient(t)
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	r := &SigningKeyReconciler{
		Client:     writer,
		Namespace:  systemNamespace,
		SecretName: secretName,
		Policy:     testKeyPolicy,
		Recorder:   mgr.GetEventRecorder("gatehouse-controller"),
		Now:        k.clock.Now,
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		cancel()
		t.Fatalf("set up signing-key reconciler: %v", err)
	}

	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with error: %v", err)
		}
	})
	return k
}

// countingClient returns a client of the API server that counts its create,
// update, patch, apply and delete requests in k.writes, and that changes
// the Secret before an apply when k.conflictNext is set.
func (k *keyRun) countingClient(t *testing.T) (client.Client, error) {
	direct, err := client.NewWithWatch(k.cfg, client.Options{Scheme: k.client.Scheme()})
	if err != nil {
		return nil, err
	}
	writes := k.writes
	return interceptor.NewClient(direct, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			writes.Add(1)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			writes.Add(1)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			writes.Add(1)
			return c.Patch(ctx, obj, patch, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			writes.Add(1)
			if k.conflictNext.CompareAndSwap(true, false) {
				k.touch(t)
			}
			return c.Apply(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			writes.Add(1)
			return c.Delete(ctx, obj, opts...)
		},
	}), nil
}

func (k *keyRun) key() client.ObjectKey {
	return client.ObjectKey{Namespace: systemNamespace, Name: k.secretName}
}

func (k *keyRun) secret(t *testing.T) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := k.client.Get(t.Context(), k.key(), s); err != nil {
		t.Fatalf("get secret %s: %v", k.key(), err)
	}
	return s
}

// waitKeySet waits until the Secret holds a key set that check accepts and
// returns both.
func (k *keyRun) waitKeySet(t *testing.T, what string, check func(*keyset.Set) error) (*corev1.Secret, *keyset.Set) {
	t.Helper()
	var (
		secret *corev1.Secret
		set    *keyset.Set
	)
	eventually(t, what, func() error {
		secret = &corev1.Secret{}
		if err := k.client.Get(t.Context(), k.key(), secret); err != nil {
			return err
		}
		var err error
		if set, err = keyset.Parse(secret.Data[keyset.SecretDataKey]); err != nil {
			return err
		}
		return check(set)
	})
	return secret, set
}

// reconcileAfterTouch changes an annotation of the Secret as a user would,
// waits until the reconciler has handled that change and is idle again,
// and returns the resourceVersion that the change produced. It is how a
// test makes the reconciler look at an advanced clock.
func (k *keyRun) reconcileAfterTouch(t *testing.T) string {
	t.Helper()
	waitIdle(t)
	before := metricValue(t, "controller_runtime_reconcile_total", "controller", "signingkey")
	touched := k.touch(t)
	eventually(t, "reconcile after touch", func() error {
		if got := metricValue(t, "controller_runtime_reconcile_total", "controller", "signingkey"); got <= before {
			return fmt.Errorf("reconcile_total = %v, want more than %v", got, before)
		}
		return nil
	})
	waitIdle(t)
	return touched
}

// touch changes an annotation of the Secret as a user would and returns
// the new resourceVersion.
func (k *keyRun) touch(t *testing.T) string {
	t.Helper()
	var touched string
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s := &corev1.Secret{}
		if err := k.client.Get(context.Background(), k.key(), s); err != nil {
			return err
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations["test.gatehouse.dev/touched"] = time.Now().Format(time.RFC3339Nano)
		if err := k.client.Update(context.Background(), s); err != nil {
			return err
		}
		touched = s.ResourceVersion
		return nil
	})
	if err != nil {
		t.Errorf("touch secret %s: %v", k.key(), err)
	}
	return touched
}

// waitIdle waits until the signing-key controller has no request queued
// and none in progress.
func waitIdle(t *testing.T) {
	t.Helper()
	eventually(t, "signing-key controller idle", func() error {
		workers := metricValue(t, "controller_runtime_active_workers", "controller", "signingkey")
		depth := metricValue(t, "workqueue_depth", "name", "signingkey")
		if workers != 0 || depth != 0 {
			return fmt.Errorf("%v active workers and %v queued requests", workers, depth)
		}
		return nil
	})
}

// metricValue returns the sum of the series of the counter or gauge name in
// controller-runtime's registry whose label labelName is labelValue, or of
// all its series when labelName is empty.
func metricValue(t *testing.T, name, labelName, labelValue string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	sum := 0.0
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, m := range family.GetMetric() {
			if labelName != "" && !hasLabel(m, labelName, labelValue) {
				continue
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, label := range m.GetLabel() {
		if label.GetName() == name && label.GetValue() == value {
			return true
		}
	}
	return false
}

// waitEvent waits for an Event on the Secret with reason and type, and
// returns its note.
func (k *keyRun) waitEvent(t *testing.T, eventType, reason string) string {
	t.Helper()
	var note string
	eventually(t, reason+" event", func() error {
		var list eventsv1.EventList
		if err := k.client.List(t.Context(), &list, client.InNamespace(systemNamespace)); err != nil {
			return err
		}
		for _, ev := range list.Items {
			if ev.Regarding.Kind == "Secret" && ev.Regarding.Name == k.secretName && ev.Reason == reason && ev.Type == eventType {
				note = ev.Note
				return nil
			}
		}
		return fmt.Errorf("no %s event %s on secret %s among %d events", eventType, reason, k.secretName, len(list.Items))
	})
	return note
}

// kidsByState returns the kids of set keyed by state.
func kidsByState(set *keyset.Set) map[keyset.State][]string {
	kids := map[keyset.State][]string{}
	for _, k := range set.Keys {
		kids[k.State] = append(kids[k.State], k.Signing.ID)
	}
	return kids
}

func activeAndNext(set *keyset.Set) error {
	if n, a, r := set.Count(keyset.StateNext), set.Count(keyset.StateActive), set.Count(keyset.StateRetiring); n != 1 || a != 1 || r != 0 {
		return fmt.Errorf("got %d next, %d active, %d retiring keys, want 1, 1, 0", n, a, r)
	}
	return nil
}

func TestSigningKeyReconciler(t *testing.T) {
	s := startKeyAPIServer(t)
	t.Run("first start creates keys", s.testFirstStart)
	t.Run("steady state writes nothing", s.testSteadyState)
	t.Run("rotation and retirement", s.testRotation)
	t.Run("next key waits for lead", s.testPublishLead)
	t.Run("conflict retried", s.testConflict)
	t.Run("deleted secret recreated", s.testDeleted)
	t.Run("invalid secret left alone", s.testInvalid)
	t.Run("no private key in logs", s.testNoKeyLeak)
}

func (s *keyAPIServer) testFirstStart(t *testing.T) {
	k := s.startReconciler(t, "first-start")
	secret, set := k.waitKeySet(t, "new key set", activeAndNext)

	if got := secret.Labels[keyset.LabelRegistration]; got != keyset.LabelValue {
		t.Errorf("label %s = %q, want %q", keyset.LabelRegistration, got, keyset.LabelValue)
	}
	if secret.Type != corev1.SecretTypeOpaque {
		t.Errorf("type = %q, want %q", secret.Type, corev1.SecretTypeOpaque)
	}
	managers := []string{}
	for _, f := range secret.ManagedFields {
		managers = append(managers, f.Manager)
	}
	if !slices.Contains(managers, FieldManager) {
		t.Errorf("field managers = %v, want %s among them", managers, FieldManager)
	}
	if alg := set.Active().Algorithm; alg != jose.ES256 {
		t.Errorf("active key algorithm = %s, want ES256", alg)
	}
	note := k.waitEvent(t, corev1.EventTypeNormal, "KeySetCreated")
	if !strings.Contains(note, set.Active().ID) {
		t.Errorf("event note %q does not name the active kid %s", note, set.Active().ID)
	}
	waitIdle(t)
	for state, want := range map[string]float64{"next": 1, "active": 1, "retiring": 0} {
		if got := metricValue(t, "gatehouse_controller_signing_keys", "state", state); got != want {
			t.Errorf("gatehouse_controller_signing_keys{state=%q} = %v, want %v", state, got, want)
		}
	}
}

func (s *keyAPIServer) testSteadyState(t *testing.T) {
	k := s.startReconciler(t, "steady")
	k.waitKeySet(t, "new key set", activeAndNext)
	data := string(k.secret(t).Data[keyset.SecretDataKey])
	waitIdle(t)
	writes := k.writes.Load()
	if writes != 1 {
		t.Errorf("reconciler sent %d write requests to create the key set, want 1", writes)
	}
	k.clock.Advance(testKeyPolicy.RotationPeriod - time.Minute)

	for i := range 3 {
		touched := k.reconcileAfterTouch(t)
		current := k.secret(t)
		if current.ResourceVersion != touched {
			t.Errorf("round %d: resourceVersion = %s after the reconcile, want %s of the touch", i, current.ResourceVersion, touched)
		}
		if string(current.Data[keyset.SecretDataKey]) != data {
			t.Errorf("round %d: keys.json changed in steady state", i)
		}
	}
	if got := k.writes.Load(); got != writes {
		t.Errorf("reconciler sent %d write requests in steady state, want none", got-writes)
	}
}

func (s *keyAPIServer) testRotation(t *testing.T) {
	k := s.startReconciler(t, "rotation")
	_, initial := k.waitKeySet(t, "new key set", activeAndNext)
	oldActive, oldNext := initial.Active().ID, kidsByState(initial)[keyset.StateNext][0]
	rotations := metricValue(t, "gatehouse_controller_signing_key_rotations_total", "", "")

	k.clock.Advance(testKeyPolicy.RotationPeriod - time.Minute)
	k.reconcileAfterTouch(t)
	_, set := k.waitKeySet(t, "key set before the period ends", func(*keyset.Set) error { return nil })
	if got := set.Active().ID; got != oldActive {
		t.Fatalf("a minute before the period ends: active kid = %s, want %s unchanged", got, oldActive)
	}

	// One second more, because the reconciler rounds activation times up.
	k.clock.Advance(time.Minute + time.Second)
	k.reconcileAfterTouch(t)
	_, rotated := k.waitKeySet(t, "rotated key set", func(set *keyset.Set) error {
		if set.Active().ID != oldNext {
			return fmt.Errorf("active kid %s, want the former next key %s", set.Active().ID, oldNext)
		}
		return nil
	})
	kids := kidsByState(rotated)
	if !slices.Equal(kids[keyset.StateRetiring], []string{oldActive}) {
		t.Errorf("retiring kids = %v, want [%s]", kids[keyset.StateRetiring], oldActive)
	}
	if len(kids[keyset.StateNext]) != 1 || kids[keyset.StateNext][0] == oldActive || kids[keyset.StateNext][0] == oldNext {
		t.Errorf("next kids = %v, want one new key", kids[keyset.StateNext])
	}
	if got := metricValue(t, "gatehouse_controller_signing_key_rotations_total", "", ""); got != rotations+1 {
		t.Errorf("rotations_total = %v, want %v", got, rotations+1)
	}
	k.waitEvent(t, corev1.EventTypeNormal, "KeyRotated")

	k.clock.Advance(testKeyPolicy.RetireAfter - time.Minute)
	k.reconcileAfterTouch(t)
	_, set = k.waitKeySet(t, "key set before retire-after", func(*keyset.Set) error { return nil })
	if got := set.Count(keyset.StateRetiring); got != 1 {
		t.Fatalf("a minute before retire-after ends: %d retiring keys, want 1", got)
	}

	k.clock.Advance(time.Minute + time.Second)
	k.reconcileAfterTouch(t)
	_, retired := k.waitKeySet(t, "retiring key dropped", func(set *keyset.Set) error {
		if n := set.Count(keyset.StateRetiring); n != 0 {
			return fmt.Errorf("%d retiring keys, want 0", n)
		}
		return nil
	})
	if got := retired.Active().ID; got != oldNext {
		t.Errorf("active kid after retirement = %s, want %s", got, oldNext)
	}
	k.waitEvent(t, corev1.EventTypeNormal, "KeysRemoved")
}

// testPublishLead starts the reconciler on a Secret written by hand, whose
// active key is overdue but whose next key was just created, and without
// the label. The reconciler adds the label without touching the keys and
// promotes the next key only once it has been published for the lead.
func (s *keyAPIServer) testPublishLead(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	active, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	next, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	data, err := keyset.Marshal(&keyset.Set{Keys: []keyset.Key{
		{Signing: next, State: keyset.StateNext, Created: now},
		{Signing: active, State: keyset.StateActive, Created: now.Add(-1000 * time.Hour), Activated: now.Add(-1000 * time.Hour)},
	}})
	if err != nil {
		t.Fatalf("marshal key set: %v", err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: "lead"},
		Data:       map[string][]byte{keyset.SecretDataKey: data},
	}
	if err := s.client.Create(t.Context(), secret); err != nil {
		t.Fatalf("create secret: %v", err)
	}

	k := s.startReconciler(t, "lead")
	labelled := &corev1.Secret{}
	eventually(t, "label added", func() error {
		if err := s.client.Get(t.Context(), k.key(), labelled); err != nil {
			return err
		}
		if labelled.Labels[keyset.LabelRegistration] != keyset.LabelValue {
			return errors.New("no registration label yet")
		}
		return nil
	})
	if string(labelled.Data[keyset.SecretDataKey]) != string(data) {
		t.Errorf("adding the label changed keys.json")
	}

	k.clock.Advance(testKeyPolicy.PublishLead - time.Minute)
	k.reconcileAfterTouch(t)
	if got := string(k.secret(t).Data[keyset.SecretDataKey]); got != string(data) {
		t.Fatalf("a minute before the lead ends: keys.json changed, want the next key unpromoted")
	}

	k.clock.Advance(time.Minute + time.Second)
	k.reconcileAfterTouch(t)
	k.waitKeySet(t, "next key promoted", func(set *keyset.Set) error {
		if set.Active().ID != next.ID {
			return fmt.Errorf("active kid %s, want %s", set.Active().ID, next.ID)
		}
		return nil
	})
}

// testConflict changes the Secret between the reconciler's read and its
// apply, so that the API server rejects the apply with a conflict. The
// reconciler must plan again from a fresh read, rotate once, and not count
// the conflict as an error.
func (s *keyAPIServer) testConflict(t *testing.T) {
	k := s.startReconciler(t, "conflict")
	_, initial := k.waitKeySet(t, "new key set", activeAndNext)
	oldNext := kidsByState(initial)[keyset.StateNext][0]
	waitIdle(t)
	rotations := metricValue(t, "gatehouse_controller_signing_key_rotations_total", "", "")
	writeErrors := metricValue(t, "gatehouse_controller_signing_key_errors_total", "reason", "write_failed")
	writes := k.writes.Load()

	k.conflictNext.Store(true)
	k.clock.Advance(testKeyPolicy.RotationPeriod + time.Minute)
	k.touch(t)
	_, rotated := k.waitKeySet(t, "rotated key set", func(set *keyset.Set) error {
		if set.Active().ID != oldNext {
			return fmt.Errorf("active kid %s, want the former next key %s", set.Active().ID, oldNext)
		}
		return nil
	})
	waitIdle(t)
	if k.conflictNext.Load() {
		t.Fatal("the reconciler never applied, so no conflict happened")
	}
	if got := k.writes.Load() - writes; got != 2 {
		t.Errorf("reconciler sent %d write requests, want 2 (the rejected apply and the retry)", got)
	}
	if got := metricValue(t, "gatehouse_controller_signing_key_rotations_total", "", ""); got != rotations+1 {
		t.Errorf("rotations_total rose by %v, want 1", got-rotations)
	}
	if got := metricValue(t, "gatehouse_controller_signing_key_errors_total", "reason", "write_failed"); got != writeErrors {
		t.Errorf("errors_total{reason=write_failed} rose by %v, want 0 for a conflict", got-writeErrors)
	}
	if err := rotated.Validate(); err != nil {
		t.Errorf("rotated set: %v", err)
	}
}

func (s *keyAPIServer) testDeleted(t *testing.T) {
	k := s.startReconciler(t, "deleted")
	first, initial := k.waitKeySet(t, "new key set", activeAndNext)
	if err := s.client.Delete(t.Context(), first); err != nil {
		t.Fatalf("delete secret: %v", err)
	}

	recreated, set := k.waitKeySet(t, "recreated key set", activeAndNext)
	if recreated.UID == first.UID {
		t.Errorf("secret UID = %s, want a new object after the delete", recreated.UID)
	}
	for _, old := range initial.Keys {
		for _, fresh := range set.Keys {
			if old.Signing.ID == fresh.Signing.ID {
				t.Errorf("recreated key set reuses kid %s, want new keys", old.Signing.ID)
			}
		}
	}
	if recreated.Labels[keyset.LabelRegistration] != keyset.LabelValue {
		t.Errorf("recreated secret has labels %v, want the registration label", recreated.Labels)
	}
	note := k.waitEvent(t, corev1.EventTypeWarning, "KeySetRecreated")
	if !strings.Contains(note, "no longer verify") {
		t.Errorf("event note %q does not say that earlier tokens no longer verify", note)
	}
}

func (s *keyAPIServer) testInvalid(t *testing.T) {
	k := s.startReconciler(t, "invalid")
	k.waitKeySet(t, "new key set", activeAndNext)
	errorsBefore := metricValue(t, "gatehouse_controller_signing_key_errors_total", "reason", "invalid_key_set")

	const garbage = `{"keys":[{"kid":"hand-edited"`
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		secret := k.secret(t)
		secret.Data[keyset.SecretDataKey] = []byte(garbage)
		return s.client.Update(t.Context(), secret)
	})
	if err != nil {
		t.Fatalf("break secret: %v", err)
	}
	eventually(t, "invalid key set counted twice", func() error {
		got := metricValue(t, "gatehouse_controller_signing_key_errors_total", "reason", "invalid_key_set")
		if got < errorsBefore+2 {
			return fmt.Errorf("errors_total{reason=invalid_key_set} = %v, want at least %v", got, errorsBefore+2)
		}
		return nil
	})
	if got := string(k.secret(t).Data[keyset.SecretDataKey]); got != garbage {
		t.Errorf("keys.json = %q after retries, want the invalid document left as it was", got)
	}
	note := k.waitEvent(t, corev1.EventTypeWarning, "InvalidKeySet")
	if !strings.Contains(note, "fix it or delete the Secret") {
		t.Errorf("event note %q does not say how to recover", note)
	}

	// Deleting the Secret is the documented way out.
	if err := s.client.Delete(t.Context(), k.secret(t)); err != nil {
		t.Fatalf("delete secret: %v", err)
	}
	k.waitKeySet(t, "key set after the invalid one was deleted", activeAndNext)
}

// testNoKeyLeak checks the logs and Events of all the subtests before it
// for private key material.
func (s *keyAPIServer) testNoKeyLeak(t *testing.T) {
	var secrets corev1.SecretList
	if err := s.client.List(t.Context(), &secrets, client.InNamespace(systemNamespace),
		client.MatchingLabels{keyset.LabelRegistration: keyset.LabelValue}); err != nil {
		t.Fatalf("list secrets: %v", err)
	}
	var events eventsv1.EventList
	if err := s.client.List(t.Context(), &events, client.InNamespace(systemNamespace)); err != nil {
		t.Fatalf("list events: %v", err)
	}
	logs := capturedLogs.String()
	if !strings.Contains(logs, "signing key rotated") {
		t.Fatalf("got no signing-key log lines, want the log captured")
	}
	texts := []string{logs}
	for _, ev := range events.Items {
		texts = append(texts, ev.Note)
	}

	checked := 0
	for _, secret := range secrets.Items {
		set, err := keyset.Parse(secret.Data[keyset.SecretDataKey])
		if err != nil {
			continue
		}
		for _, key := range set.Keys {
			pemData, err := jose.MarshalPrivateKeyPEM(key.Signing)
			if err != nil {
				t.Fatalf("marshal key: %v", err)
			}
			// The second line of the PEM block is private key material.
			body := strings.Split(string(pemData), "\n")[1]
			checked++
			for _, text := range texts {
				if strings.Contains(text, body) {
					t.Errorf("log or event contains private key material of kid %s", key.Signing.ID)
				}
			}
		}
	}
	for _, text := range texts {
		if strings.Contains(text, "PRIVATE KEY") {
			t.Errorf("log or event contains a PEM private key header")
		}
	}
	if checked == 0 {
		t.Errorf("got no keys to check, want those of the other subtests")
	}
}
