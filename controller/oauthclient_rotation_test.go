package controller

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// fakeClock is the real time moved forward by an offset that tests
// advance. The reconciler reads it from the manager's goroutines.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// rotatingClient returns a confidential client that rotates its secret
// every two hours with an overlap of 30 minutes.
func rotatingClient(namespace, name string) *v1alpha1.OAuthClient {
	oc := newOAuthClient(namespace, name)
	oc.Spec.SecretRotation = &v1alpha1.SecretRotation{
		Interval: metav1.Duration{Duration: 2 * time.Hour},
		Overlap:  metav1.Duration{Duration: 30 * time.Minute},
	}
	return oc
}

// annotate sets an annotation of oc as a user would, which also triggers
// a reconcile.
func (e *testEnv) annotate(t *testing.T, oc *v1alpha1.OAuthClient, key, value string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current := &v1alpha1.OAuthClient{}
		if err := e.client.Get(t.Context(), client.ObjectKeyFromObject(oc), current); err != nil {
			return err
		}
		if current.Annotations == nil {
			current.Annotations = map[string]string{}
		}
		current.Annotations[key] = value
		return e.client.Update(t.Context(), current)
	})
	if err != nil {
		t.Fatalf("annotate oauthclient %s: %v", oc.Name, err)
	}
}

// waitNewSecret waits until the credentials Secret of oc holds a client
// secret other than old, and returns it.
func (e *testEnv) waitNewSecret(t *testing.T, oc *v1alpha1.OAuthClient, old string) string {
	t.Helper()
	var fresh string
	eventually(t, "new client secret", func() error {
		fresh = string(e.getSecret(t, oc.Namespace, oc.CredentialsSecretName()).Data[KeyClientSecret])
		if fresh == old || !validSecret([]byte(fresh)) {
			return fmt.Errorf("client secret not rotated yet")
		}
		return nil
	})
	return fresh
}

// verifies reports whether the issuer would accept secret for the client
// in the registration Secret of oc.
func (e *testEnv) verifies(t *testing.T, oc *v1alpha1.OAuthClient, secret string) bool {
	t.Helper()
	rc := decodeRegistration(t, e.registration(t, oc))
	c := clients.Client{ID: rc.ClientID, SecretHashes: rc.SecretHashes}
	return c.VerifySecret(secret)
}

func (e *testEnv) testNoEarlyRotation(t *testing.T) {
	oc := rotatingClient("early", "orders")
	secret := e.provisioned(t, oc)
	key := client.ObjectKeyFromObject(oc)
	got := e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
	creds := e.getSecret(t, "early", "orders-oauth")
	reg := e.registration(t, oc)

	e.clock.Advance(time.Hour)
	result, err := e.reconciler.Reconcile(t.Context(), ctrl.Request{NamespacedName: key})
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if result.RequeueAfter <= 0 || result.RequeueAfter > time.Hour {
		t.Errorf("got RequeueAfter %s, want more than 0 and at most the 1h left of the interval", result.RequeueAfter)
	}
	e.testSteadyState(t, got, creds, reg, e.escrow(t, oc))
	if now := string(e.getSecret(t, "early", "orders-oauth").Data[KeyClientSecret]); now != secret {
		t.Errorf("client secret changed before the rotation interval passed")
	}
	if got.Status.LastRotationTime != nil {
		t.Errorf("got lastRotationTime %v, want none before the first rotation", got.Status.LastRotationTime)
	}
}

func (e *testEnv) testRotationByInterval(t *testing.T) {
	oc := rotatingClient("interval", "orders")
	old := e.provisioned(t, oc)
	key := client.ObjectKeyFromObject(oc)

	e.clock.Advance(2*time.Hour + time.Minute)
	e.annotate(t, oc, "test.gatehouse.dev/poke", "rotate")
	fresh := e.waitNewSecret(t, oc, old)
	got := e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonRotating)

	rc := decodeRegistration(t, e.registration(t, oc))
	if diff := cmp.Diff([]string{clients.HashSecret(fresh), clients.HashSecret(old)}, rc.SecretHashes); diff != "" {
		t.Errorf("secret hashes during the overlap mismatch (-want +got):\n%s", diff)
	}
	creds := e.getSecret(t, "interval", "orders-oauth")
	if got.Status.LastRotationTime == nil {
		t.Fatalf("got no lastRotationTime after a rotation, want one")
	}
	if want := got.Status.LastRotationTime.UTC().Format(time.RFC3339); creds.Annotations[AnnotationRotatedAt] != want {
		t.Errorf("got %s annotation %q, want %q", AnnotationRotatedAt, creds.Annotations[AnnotationRotatedAt], want)
	}
	if !e.verifies(t, oc, old) {
		t.Errorf("old secret rejected during the overlap, want it to verify")
	}
	if !e.verifies(t, oc, fresh) {
		t.Errorf("new secret rejected during the overlap, want it to verify")
	}
	e.waitEvent(t, got, corev1.EventTypeNormal, v1alpha1.ReasonRotating)
	e.waitEvent(t, got, corev1.EventTypeNormal, "Rotated")
	e.testSteadyState(t, got, creds, e.registration(t, oc), e.escrow(t, oc))

	e.clock.Advance(31 * time.Minute)
	e.annotate(t, oc, "test.gatehouse.dev/poke", "retire")
	e.waitHashes(t, oc, []string{clients.HashSecret(fresh)})
	got = e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
	if e.verifies(t, oc, old) {
		t.Errorf("old secret verifies after the overlap, want rejected")
	}
	if !e.verifies(t, oc, fresh) {
		t.Errorf("new secret rejected after the overlap, want it to verify")
	}
	reg := e.registration(t, oc)
	for _, k := range []string{AnnotationRetiringHash, AnnotationRetireAt} {
		if v, ok := reg.Annotations[k]; ok {
			t.Errorf("got registration annotation %s=%q after the overlap, want none", k, v)
		}
	}
	e.waitEvent(t, got, corev1.EventTypeNormal, "SecretRetired")
	if now := string(e.getSecret(t, "interval", "orders-oauth").Data[KeyClientSecret]); now != fresh {
		t.Errorf("client secret changed when the previous one retired")
	}
}

func (e *testEnv) testRotationByAnnotation(t *testing.T) {
	oc := newOAuthClient("annotated", "orders")
	old := e.provisioned(t, oc)
	key := client.ObjectKeyFromObject(oc)

	e.annotate(t, oc, AnnotationRotate, "first")
	fresh := e.waitNewSecret(t, oc, old)
	got := e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonRotating)
	creds := e.getSecret(t, "annotated", "orders-oauth")
	if creds.Annotations[AnnotationRotateHandled] != "first" {
		t.Errorf("got %s annotation %q, want first", AnnotationRotateHandled, creds.Annotations[AnnotationRotateHandled])
	}
	rc := decodeRegistration(t, e.registration(t, oc))
	if diff := cmp.Diff([]string{clients.HashSecret(fresh), clients.HashSecret(old)}, rc.SecretHashes); diff != "" {
		t.Errorf("secret hashes mismatch (-want +got):\n%s", diff)
	}
	e.testSteadyState(t, got, creds, e.registration(t, oc), e.escrow(t, oc))

	e.clock.Advance(DefaultRotationOverlap + time.Minute)
	e.annotate(t, oc, "test.gatehouse.dev/poke", "retire")
	e.waitHashes(t, oc, []string{clients.HashSecret(fresh)})
	e.waitReady(t, key, metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
	if now := string(e.getSecret(t, "annotated", "orders-oauth").Data[KeyClientSecret]); now != fresh {
		t.Errorf("client secret rotated again for an annotation value already acted on")
	}
}

func (e *testEnv) testPublicNoRotation(t *testing.T) {
	createNamespace(t, e.client, "public-rotate")
	oc := newOAuthClient("public-rotate", "cli")
	oc.Spec.Public = true
	oc.Spec.GrantTypes = []v1alpha1.GrantType{v1alpha1.GrantTypePassword}
	oc.Annotations = map[string]string{AnnotationRotate: "now"}
	e.create(t, oc)
	e.waitReady(t, client.ObjectKeyFromObject(oc), metav1.ConditionTrue, v1alpha1.ReasonProvisioned)

	e.annotate(t, oc, AnnotationRotate, "again")
	got := e.waitReady(t, client.ObjectKeyFromObject(oc), metav1.ConditionTrue, v1alpha1.ReasonProvisioned)
	if got.Status.LastRotationTime != nil {
		t.Errorf("got lastRotationTime %v for a public client, want none", got.Status.LastRotationTime)
	}
	rc := decodeRegistration(t, e.registration(t, oc))
	if len(rc.SecretHashes) != 0 {
		t.Errorf("got %d secret hashes for a public client, want none", len(rc.SecretHashes))
	}
	creds := e.getSecret(t, "public-rotate", "cli-oauth")
	if _, ok := creds.Data[KeyClientSecret]; ok {
		t.Errorf("got client_secret in the credentials Secret of a public client, want none")
	}
}

func TestRotationDue(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	creds := func(annotations map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: annotations}}
	}
	tests := []struct {
		name        string
		public      bool
		annotation  string
		lastRotated *time.Time
		current     *corev1.Secret
		now         time.Time
		want        bool
	}{
		{name: "before interval", current: creds(nil), now: created.Add(time.Hour), want: false},
		{name: "interval passed", current: creds(nil), now: created.Add(2 * time.Hour), want: true},
		{name: "since last rotation", lastRotated: new(created.Add(time.Hour)), current: creds(nil), now: created.Add(2 * time.Hour), want: false},
		{name: "rotated-at annotation counts", current: creds(map[string]string{AnnotationRotatedAt: created.Add(time.Hour).Format(time.RFC3339)}), now: created.Add(2 * time.Hour), want: false},
		{name: "new annotation value", annotation: "x", current: creds(nil), now: created, want: true},
		{name: "handled annotation value", annotation: "x", current: creds(map[string]string{AnnotationRotateHandled: "x"}), now: created, want: false},
		{name: "public never", public: true, annotation: "x", current: creds(nil), now: created.Add(3 * time.Hour), want: false},
		{name: "no credentials yet", current: nil, now: created.Add(3 * time.Hour), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oc := rotatingClient("ns", "app")
			oc.CreationTimestamp = metav1.NewTime(created)
			oc.Spec.Public = tt.public
			if tt.annotation != "" {
				oc.Annotations = map[string]string{AnnotationRotate: tt.annotation}
			}
			if tt.lastRotated != nil {
				oc.Status.LastRotationTime = &metav1.Time{Time: *tt.lastRotated}
			}
			if got := rotationDue(oc, tt.current, tt.now); got != tt.want {
				t.Errorf("got rotationDue %v, want %v", got, tt.want)
			}
		})
	}
}
