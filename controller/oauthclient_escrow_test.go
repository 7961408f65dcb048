package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

func (e *testEnv) escrow(t *testing.T, oc *v1alpha1.OAuthClient) *corev1.Secret {
	t.Helper()
	return e.getSecret(t, systemNamespace, EscrowSecretName(oc.Namespace, oc.Name))
}

// logEntry is the part of a captured JSON log line that tests check.
type logEntry struct {
	Level    string `json:"level"`
	Msg      string `json:"msg"`
	ClientID string `json:"clientID"`
}

// logOffset returns the length of the captured log, which marks where the
// lines of a test start when the test binary runs the tests more than once.
func logOffset() int {
	return len(capturedLogs.String())
}

// logEntries returns the captured log lines from offset since.
func logEntries(t *testing.T, since int) []logEntry {
	t.Helper()
	var entries []logEntry
	for line := range strings.SplitSeq(capturedLogs.String()[since:], "\n") {
		if line == "" {
			continue
		}
		var entry logEntry
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("decode log line %q: %v", line, err)
		}
		entries = append(entries, entry)
	}
	return entries
}

// logCount returns how many captured log lines from offset since have the
// message msg and the clientID attribute clientID.
func logCount(t *testing.T, since int, msg, clientID string) int {
	t.Helper()
	count := 0
	for _, entry := range logEntries(t, since) {
		if entry.Msg == msg && entry.ClientID == clientID {
			count++
		}
	}
	return count
}

// waitClientSecret waits until the credentials Secret of oc holds want. It
// fails at once when the Secret holds a generated secret other than want
// and edited, the value that the test wrote itself, because the controller
// replaced the secret then.
func (e *testEnv) waitClientSecret(t *testing.T, oc *v1alpha1.OAuthClient, want, edited string) {
	t.Helper()
	eventually(t, "client secret in "+oc.CredentialsSecretName(), func() error {
		s := &corev1.Secret{}
		if err := e.client.Get(t.Context(), client.ObjectKey{Namespace: oc.Namespace, Name: oc.CredentialsSecretName()}, s); err != nil {
			return err
		}
		got := string(s.Data[KeyClientSecret])
		if got == want {
			return nil
		}
		if got != edited && validSecret([]byte(got)) {
			t.Fatalf("got another client secret in %s, want the previous one back", oc.CredentialsSecretName())
		}
		return fmt.Errorf("client secret of %d characters not restored yet", len(got))
	})
}

// deleteSecret deletes s and fails the test on any error.
func (e *testEnv) deleteSecret(t *testing.T, s *corev1.Secret) {
	t.Helper()
	if err := e.client.Delete(t.Context(), s); err != nil {
		t.Fatalf("delete secret %s/%s: %v", s.Namespace, s.Name, err)
	}
}

func (e *testEnv) testCredentialsDeleted(t *testing.T) {
	since := logOffset()
	oc := newOAuthClient("lost", "orders")
	secret := e.provisioned(t, oc)
	wantHashes := []string{clients.HashSecret(secret)}

	for range 3 {
		creds := e.getSecret(t, "lost", "orders-oauth")
		e.deleteSecret(t, creds)
		e.waitClientSecret(t, oc, secret, "")
		now := e.getSecret(t, "lost", "orders-oauth")
		if now.UID == creds.UID {
			t.Fatalf("got the UID of the deleted credentials Secret, want a new Secret")
		}
		if got := decodeRegistration(t, e.registration(t, oc)).SecretHashes; !cmp.Equal(wantHashes, got) {
			t.Errorf("got secret hashes %v, want %v", got, wantHashes)
		}
	}
	if n := logCount(t, since, "client secret generated", "lost.orders"); n != 1 {
		t.Errorf("got %d log lines of a generated client secret, want 1 (at creation)", n)
	}
	if n := logCount(t, since, "client secret restored from the escrow", "lost.orders"); n < 3 {
		t.Errorf("got %d log lines of a restored client secret, want at least 3", n)
	}
}

func (e *testEnv) testClientSecretEdited(t *testing.T) {
	since := logOffset()
	oc := newOAuthClient("weak", "orders")
	secret := e.provisioned(t, oc)
	wantHashes := []string{clients.HashSecret(secret)}

	for _, edited := range []string{"password123", newSecret()} {
		e.editSecret(t, "weak", "orders-oauth", func(s *corev1.Secret) {
			s.Data[KeyClientSecret] = []byte(edited)
		})
		e.waitClientSecret(t, oc, secret, edited)
		e.waitHashes(t, oc, wantHashes)
	}
	if n := logCount(t, since, "client secret generated", "weak.orders"); n != 1 {
		t.Errorf("got %d log lines of a generated client secret, want 1 (at creation)", n)
	}
}

func (e *testEnv) testEscrowRestored(t *testing.T) {
	oc := newOAuthClient("escrow-lost", "orders")
	secret := e.provisioned(t, oc)
	creds := e.getSecret(t, "escrow-lost", "orders-oauth")
	escrow := e.escrow(t, oc)

	e.deleteSecret(t, escrow)
	eventually(t, "escrow restored", func() error {
		now := &corev1.Secret{}
		if err := e.client.Get(t.Context(), client.ObjectKeyFromObject(escrow), now); err != nil {
			return err
		}
		if now.UID == escrow.UID {
			return errors.New("escrow not deleted yet")
		}
		if diff := cmp.Diff(map[string]string{KeyClientSecret: secret}, stringData(now)); diff != "" {
			t.Fatalf("restored escrow data mismatch (-want +got):\n%s", diff)
		}
		return nil
	})
	if now := e.getSecret(t, "escrow-lost", "orders-oauth"); now.ResourceVersion != creds.ResourceVersion {
		t.Errorf("got credentials resourceVersion %s after the escrow was restored, want %s", now.ResourceVersion, creds.ResourceVersion)
	}
}

// testDeleteDuringOverlap deletes the credentials and then the
// registration Secret, and sets the previous secret back into the
// credentials Secret, while both the previous and the new secret work.
func (e *testEnv) testDeleteDuringOverlap(t *testing.T) {
	since := logOffset()
	oc := newOAuthClient("overlap", "orders")
	old := e.provisioned(t, oc)
	e.annotate(t, oc, AnnotationRotate, "first")
	fresh := e.waitNewSecret(t, oc, old)
	key := client.ObjectKeyFromObject(oc)
	e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonRotating)
	bothHashes := []string{clients.HashSecret(fresh), clients.HashSecret(old)}
	e.waitHashes(t, oc, bothHashes)
	escrow := e.escrow(t, oc)
	if diff := cmp.Diff(map[string]string{KeyClientSecret: fresh, EscrowKeyPrevious: old}, stringData(escrow)); diff != "" {
		t.Errorf("escrow data during the overlap mismatch (-want +got):\n%s", diff)
	}

	e.deleteSecret(t, e.getSecret(t, "overlap", "orders-oauth"))
	e.waitClientSecret(t, oc, fresh, "")
	creds := e.getSecret(t, "overlap", "orders-oauth")
	if creds.Annotations[AnnotationRotateHandled] != "first" {
		t.Errorf("got %s annotation %q on the restored Secret, want first", AnnotationRotateHandled, creds.Annotations[AnnotationRotateHandled])
	}
	e.waitHashes(t, oc, bothHashes)

	e.deleteSecret(t, e.registration(t, oc))
	e.waitHashes(t, oc, bothHashes)
	reg := e.registration(t, oc)
	if reg.Annotations[AnnotationRetiringHash] != clients.HashSecret(old) {
		t.Errorf("got %s annotation %q on the restored registration, want the previous secret's hash",
			AnnotationRetiringHash, reg.Annotations[AnnotationRetiringHash])
	}
	e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonRotating)

	// An edit back to the previous secret must not cancel the rotation:
	// an app may already hold the new one.
	e.editSecret(t, "overlap", "orders-oauth", func(s *corev1.Secret) {
		s.Data[KeyClientSecret] = []byte(old)
	})
	e.waitClientSecret(t, oc, fresh, old)
	e.waitHashes(t, oc, bothHashes)
	e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonRotating)
	if n := logCount(t, since, "client secret generated", "overlap.orders"); n != 1 {
		t.Errorf("got %d log lines of a generated client secret, want 1 (at creation)", n)
	}

	e.clock.Advance(DefaultRotationOverlap + time.Minute)
	e.annotate(t, oc, "test.gatehouse.dev/poke", "retire")
	e.waitHashes(t, oc, []string{clients.HashSecret(fresh)})
	eventually(t, "previous secret dropped from the escrow", func() error {
		got := stringData(e.escrow(t, oc))
		if diff := cmp.Diff(map[string]string{KeyClientSecret: fresh}, got); diff != "" {
			return fmt.Errorf("escrow data mismatch (-want +got):\n%s", diff)
		}
		return nil
	})
}

// unmanagedClient returns a client that the manager's reconciler leaves
// alone, so that a test can run each reconcile itself.
func unmanagedClient(namespace, name string) *v1alpha1.OAuthClient {
	oc := newOAuthClient(namespace, name)
	oc.Labels = map[string]string{unmanagedLabel: "true"}
	return oc
}

// manualReconciler returns a reconciler that reads and writes without a
// cache, through funcs where they are set.
func (e *testEnv) manualReconciler(t *testing.T, funcs interceptor.Funcs) *OAuthClientReconciler {
	t.Helper()
	direct, err := client.NewWithWatch(e.cfg, client.Options{Scheme: e.reconciler.Scheme})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return &OAuthClientReconciler{
		Client:    interceptor.NewClient(direct, funcs),
		APIReader: direct,
		Scheme:    e.reconciler.Scheme,
		Namespace: systemNamespace,
		IssuerURL: testIssuerURL,
		TokenURL:  testTokenURL,
		Recorder:  e.reconciler.Recorder,
		Now:       e.clock.Now,
	}
}

// reconcileOnce runs one reconcile of oc with r and returns its error.
func reconcileOnce(t *testing.T, r *OAuthClientReconciler, oc *v1alpha1.OAuthClient) error {
	t.Helper()
	_, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(oc)})
	return err
}

// failApplyTo returns interceptor functions whose server-side apply of the
// Secret name fails, as if the controller stopped before that write.
func failApplyTo(name string) interceptor.Funcs {
	return interceptor.Funcs{
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			if s, ok := obj.(*corev1ac.SecretApplyConfiguration); ok && s.Name != nil && *s.Name == name {
				return errors.New("injected failure")
			}
			return c.Apply(ctx, obj, opts...)
		},
	}
}

func (e *testEnv) testCredentialsAndEscrowDeleted(t *testing.T) {
	since := logOffset()
	oc := unmanagedClient("both-lost", "orders")
	createNamespace(t, e.client, oc.Namespace)
	e.create(t, oc)
	r := e.manualReconciler(t, interceptor.Funcs{})
	if err := reconcileOnce(t, r, oc); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	old := string(e.getSecret(t, "both-lost", "orders-oauth").Data[KeyClientSecret])

	e.deleteSecret(t, e.getSecret(t, "both-lost", "orders-oauth"))
	e.deleteSecret(t, e.escrow(t, oc))
	if err := reconcileOnce(t, r, oc); err != nil {
		t.Fatalf("reconcile: %v", err)
	}

	fresh := string(e.getSecret(t, "both-lost", "orders-oauth").Data[KeyClientSecret])
	if fresh == old || !validSecret([]byte(fresh)) {
		t.Errorf("got the lost client secret or an invalid one, want a new generated secret")
	}
	rc := decodeRegistration(t, e.registration(t, oc))
	if diff := cmp.Diff([]string{clients.HashSecret(fresh)}, rc.SecretHashes); diff != "" {
		t.Errorf("registration secret hashes mismatch (-want +got):\n%s", diff)
	}
	if got := string(e.escrow(t, oc).Data[KeyClientSecret]); got != fresh {
		t.Errorf("escrow does not hold the new client secret")
	}
	if n := logCount(t, since, "client secret generated", "both-lost.orders"); n != 2 {
		t.Errorf("got %d log lines of a generated client secret, want 2", n)
	}
}

// testWriteFailure stops a rotation before each of its later writes, and
// checks that the secret the app holds keeps working and that the next
// reconcile finishes the rotation.
func (e *testEnv) testWriteFailure(t *testing.T) {
	tests := []struct {
		name             string
		failing          func(namespace string) string
		deleteCredential bool
	}{
		{name: "before registration", failing: func(ns string) string { return RegistrationSecretName(ns, "orders") }},
		{name: "before credentials", failing: func(string) string { return "orders-oauth" }},
		{name: "before registration then deleted", failing: func(ns string) string { return RegistrationSecretName(ns, "orders") }, deleteCredential: true},
		{name: "before credentials then deleted", failing: func(string) string { return "orders-oauth" }, deleteCredential: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			since := logOffset()
			namespace := fmt.Sprintf("write-failure-%d", i)
			oc := unmanagedClient(namespace, "orders")
			createNamespace(t, e.client, namespace)
			e.create(t, oc)
			healthy := e.manualReconciler(t, interceptor.Funcs{})
			if err := reconcileOnce(t, healthy, oc); err != nil {
				t.Fatalf("reconcile: %v", err)
			}
			old := string(e.getSecret(t, namespace, "orders-oauth").Data[KeyClientSecret])

			e.annotate(t, oc, AnnotationRotate, "first")
			failing := e.manualReconciler(t, failApplyTo(tt.failing(namespace)))
			if err := reconcileOnce(t, failing, oc); err == nil {
				t.Fatalf("got no error from a reconcile with a failing write, want one")
			}
			if got := string(e.getSecret(t, namespace, "orders-oauth").Data[KeyClientSecret]); got != old {
				t.Fatalf("got a new client secret from a reconcile that failed, want the previous one until a reconcile succeeds")
			}
			if !e.verifies(t, oc, old) {
				t.Errorf("secret in the credentials Secret rejected after a failed rotation, want it to verify")
			}
			if tt.deleteCredential {
				e.deleteSecret(t, e.getSecret(t, namespace, "orders-oauth"))
			}

			// A restore of the secret that the app held leaves the rotation
			// request open for one more reconcile.
			var creds *corev1.Secret
			for attempt := 0; attempt < 2 && (creds == nil || creds.Annotations[AnnotationRotateHandled] != "first"); attempt++ {
				if err := reconcileOnce(t, healthy, oc); err != nil {
					t.Fatalf("reconcile: %v", err)
				}
				creds = e.getSecret(t, namespace, "orders-oauth")
			}
			if creds.Annotations[AnnotationRotateHandled] != "first" {
				t.Fatalf("got %s annotation %q after two reconciles, want first", AnnotationRotateHandled, creds.Annotations[AnnotationRotateHandled])
			}
			fresh := string(creds.Data[KeyClientSecret])
			if fresh == old {
				t.Errorf("got the previous client secret after the rotation finished, want a new one")
			}
			if !e.verifies(t, oc, fresh) {
				t.Errorf("secret in the credentials Secret rejected after the rotation finished, want it to verify")
			}
			if !e.verifies(t, oc, old) {
				t.Errorf("previous secret rejected right after the rotation finished, want it to verify during the overlap")
			}
			if got := string(e.escrow(t, oc).Data[KeyClientSecret]); got != fresh {
				t.Errorf("escrow's newest secret differs from the credentials Secret's")
			}
			if n := logCount(t, since, "client secret generated", namespace+".orders"); n != 1 {
				t.Errorf("got %d log lines of a generated client secret, want 1 (at creation)", n)
			}
		})
	}
}

// testEscrowHidden lists the Secrets that the issuer selects and checks
// that no escrow Secret and no plain client secret is among them.
func (e *testEnv) testEscrowHidden(t *testing.T) {
	var escrows corev1.SecretList
	if err := e.client.List(t.Context(), &escrows, client.InNamespace(systemNamespace), client.HasLabels{LabelEscrow}); err != nil {
		t.Fatalf("list escrow secrets: %v", err)
	}
	if len(escrows.Items) == 0 {
		t.Fatalf("got no escrow Secrets, want those of the other subtests")
	}
	var selected corev1.SecretList
	if err := e.client.List(t.Context(), &selected, client.InNamespace(systemNamespace), client.HasLabels{LabelRegistration}); err != nil {
		t.Fatalf("list registration secrets: %v", err)
	}
	for _, s := range selected.Items {
		if _, ok := s.Labels[LabelEscrow]; ok {
			t.Errorf("issuer selects %s, which carries %s", s.Name, LabelEscrow)
		}
		for _, escrow := range escrows.Items {
			for key, value := range escrow.Data {
				if strings.Contains(string(s.Data[RegistrationKey]), string(value)) {
					t.Errorf("registration Secret %s contains the %s of escrow %s", s.Name, key, escrow.Name)
				}
			}
		}
	}
	for _, escrow := range escrows.Items {
		if _, ok := escrow.Labels[LabelRegistration]; ok {
			t.Errorf("escrow Secret %s carries %s, which the issuer selects", escrow.Name, LabelRegistration)
		}
		if !strings.HasSuffix(escrow.Name, "-escrow") {
			t.Errorf("got escrow Secret name %s, want the -escrow suffix", escrow.Name)
		}
	}
}

func (e *testEnv) testFinalizerOfGoneResource(t *testing.T) {
	since := logOffset()
	oc := unmanagedClient("gone", "orders")
	createNamespace(t, e.client, oc.Namespace)
	e.create(t, oc)
	r := e.manualReconciler(t, interceptor.Funcs{})
	if err := reconcileOnce(t, r, oc); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if err := e.client.Delete(t.Context(), oc); err != nil {
		t.Fatalf("delete oauthclient: %v", err)
	}
	stale := &v1alpha1.OAuthClient{}
	if err := e.client.Get(t.Context(), client.ObjectKeyFromObject(oc), stale); err != nil {
		t.Fatalf("get oauthclient: %v", err)
	}
	if err := reconcileOnce(t, r, oc); err != nil {
		t.Fatalf("reconcile of the deleted oauthclient: %v", err)
	}
	err := e.client.Get(t.Context(), client.ObjectKeyFromObject(oc), &v1alpha1.OAuthClient{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("got error %v reading the finalized oauthclient, want not found", err)
	}

	if err := r.finalize(t.Context(), stale); err != nil {
		t.Errorf("got error %v finalizing an oauthclient that is gone, want none", err)
	}
	levels := logLevels(t, since, "oauthclient already gone, finalizer needs no removal")
	if len(levels) == 0 {
		t.Errorf("got no log line for the finalizer of a gone oauthclient, want one at debug level")
	}
	for _, level := range levels {
		if !strings.HasPrefix(level, "DEBUG") {
			t.Errorf("got log level %s for the finalizer of a gone oauthclient, want debug", level)
		}
	}
}

// logLevels returns the levels of the captured log lines from offset since
// with the message msg.
func logLevels(t *testing.T, since int, msg string) []string {
	t.Helper()
	var levels []string
	for _, entry := range logEntries(t, since) {
		if entry.Msg == msg {
			levels = append(levels, entry.Level)
		}
	}
	return levels
}

func TestRegisteredHashes(t *testing.T) {
	first, second := clients.HashSecret("first"), clients.HashSecret("second")
	valid, err := encodeRegistration(clients.Client{ID: "ns.app", SecretHashes: []string{first, second},
		GrantTypes: []clients.GrantType{clients.GrantClientCredentials}, Audiences: []string{"api"}})
	if err != nil {
		t.Fatalf("encode registration: %v", err)
	}
	tests := []struct {
		name string
		data string
		want map[string]bool
	}{
		{name: "two hashes", data: string(valid), want: map[string]bool{first: true, second: true}},
		{name: "no clients", data: "clients: []\n", want: nil},
		{name: "two clients", data: "clients:\n- clientID: a\n  secretHashes: [x]\n- clientID: b\n", want: nil},
		{name: "not yaml", data: "clients: [", want: nil},
		{name: "empty", data: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &corev1.Secret{Data: map[string][]byte{RegistrationKey: []byte(tt.data)}}
			if diff := cmp.Diff(tt.want, registeredHashes(reg), cmpEmptyMap); diff != "" {
				t.Errorf("registered hashes mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got := registeredHashes(nil); len(got) != 0 {
		t.Errorf("got %d hashes for a missing registration, want none", len(got))
	}
}

// cmpEmptyMap makes cmp treat a nil and an empty map as equal.
var cmpEmptyMap = cmp.FilterValues(func(x, y map[string]bool) bool { return len(x) == 0 && len(y) == 0 }, cmp.Ignore())

// FuzzRegisteredHashes checks that any registration data, which anyone who
// may edit Secrets in Gatehouse's namespace can change, yields only hashes
// listed by a single client entry, and never a panic.
func FuzzRegisteredHashes(f *testing.F) {
	f.Add("clients:\n- clientID: ns.app\n  secretHashes:\n  - sha256:abc\n")
	f.Add("clients: []\n")
	f.Add("clients:\n- secretHashes: [a, b]\n- secretHashes: [c]\n")
	f.Add("clients: {secretHashes: 1}")
	f.Add("\x00\xff")
	f.Fuzz(func(t *testing.T, data string) {
		reg := &corev1.Secret{Data: map[string][]byte{RegistrationKey: []byte(data)}}
		got := registeredHashes(reg)
		if len(got) == 0 {
			return
		}
		var file registrationFile
		if err := yaml.Unmarshal([]byte(data), &file); err != nil || len(file.Clients) != 1 {
			t.Fatalf("got %d hashes from data that is not one client entry", len(got))
		}
		for _, hash := range file.Clients[0].SecretHashes {
			if !got[hash] {
				t.Errorf("hash %q of the entry missing from the result", hash)
			}
		}
		if len(got) > len(file.Clients[0].SecretHashes) {
			t.Errorf("got %d hashes, want at most the entry's %d", len(got), len(file.Clients[0].SecretHashes))
		}
	})
}
