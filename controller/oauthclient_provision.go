package controller

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// Keys of the credentials Secret.
const (
	KeyClientID     = "client_id"
	KeyClientSecret = "client_secret"
	KeyTokenURL     = "token_url"
	KeyIssuer       = "issuer"
)

// secretBytes is the number of random bytes in a client secret. 32 bytes
// (256 bits) keep a secret out of reach of guessing even though the issuer
// hashes it with fast, unsalted SHA-256.
const secretBytes = 32

// provisionError is a failure that the Ready condition reports with its
// own reason. A terminal failure is not retried.
type provisionError struct {
	reason   string
	message  string
	terminal bool
	err      error
}

func (e *provisionError) Error() string {
	if e.err == nil {
		return e.message
	}
	return e.message + ": " + e.err.Error()
}

func (e *provisionError) Unwrap() error { return e.err }

// ClientID returns the client_id of the OAuthClient name in namespace:
// "<namespace>.<name>". A namespace name has no dots, so the first dot
// separates the two parts and two resources never share an ID. The ID
// depends on nothing else, so it survives a backup and restore that drops
// status, and a resource recreated with the same name gets the same ID.
func ClientID(namespace, name string) string {
	return namespace + "." + name
}

// RegistrationSecretName returns the name of the registration Secret of the
// OAuthClient name in namespace: "oauthclient-" and the first 32 hex digits
// of the SHA-256 of "<namespace>/<name>". A hash keeps the name within the
// 253-character limit for any namespace and name.
func RegistrationSecretName(namespace, name string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return "oauthclient-" + hex.EncodeToString(sum[:16])
}

// provision writes the credentials and registration Secrets of oc and
// rotates its client secret when a rotation is due. It returns what it
// decided about rotation, and a *provisionError for a failure with its own
// condition reason.
//
// The registration is written before the credentials, so the issuer
// accepts a new secret before any workload can read it, and keeps
// accepting the previous one until the overlap ends.
func (r *OAuthClientReconciler) provision(ctx context.Context, oc *v1alpha1.OAuthClient) (rotationState, error) {
	now := r.now()
	current, reg, err := r.readSecrets(ctx, oc, now)
	if err != nil {
		return rotationState{}, err
	}
	previous, err := r.previousCredentials(ctx, oc)
	if err != nil {
		return rotationState{}, err
	}
	secret, state := r.secretAndRotation(ctx, oc, current, previous, reg, now)
	model := clientModel(oc)
	if !oc.Spec.Public {
		model.SecretHashes = secretHashes(secret, state.retiring)
	}
	if err := model.Validate(); err != nil {
		return rotationState{}, &provisionError{reason: v1alpha1.ReasonInvalidSpec, terminal: true, err: err,
			message: "the issuer rejects this client as invalid; change the field of the spec that the error names, or use a shorter resource name for a too long client ID"}
	}

	if err := r.applyRegistration(ctx, oc, model, reg, state); err != nil {
		return rotationState{}, err
	}
	annotations := credentialsAnnotations(oc, current, state)
	if err := r.applyCredentials(ctx, oc, current, secret, annotations); err != nil {
		return rotationState{}, err
	}
	if state.rotated {
		r.Recorder.Eventf(oc, nil, corev1.EventTypeNormal, "Rotated", "Rotate",
			"credentials Secret %s holds the new client secret", oc.CredentialsSecretName())
	}
	schedule(oc, current, &state)
	return state, r.deletePrevious(ctx, oc, previous)
}

// readSecrets returns the credentials and registration Secrets of oc. When
// the cached copies show that a rotation is due, it reads both again past
// the cache, because a cache that lags behind the last rotation would
// otherwise start a second one and drop a secret that workloads use.
func (r *OAuthClientReconciler) readSecrets(ctx context.Context, oc *v1alpha1.OAuthClient, now time.Time) (*corev1.Secret, *corev1.Secret, error) {
	current, err := r.currentCredentials(ctx, oc, r.Client)
	if err != nil {
		return nil, nil, err
	}
	if !rotationDue(oc, current, now) {
		reg, err := r.currentRegistration(ctx, oc, r.Client)
		return current, reg, err
	}
	current, err = r.currentCredentials(ctx, oc, r.APIReader)
	if err != nil {
		return nil, nil, err
	}
	reg, err := r.currentRegistration(ctx, oc, r.APIReader)
	return current, reg, err
}

// secretAndRotation returns the client secret to write and the rotation
// state: a new secret when a rotation is due, else the secret to keep.
func (r *OAuthClientReconciler) secretAndRotation(ctx context.Context, oc *v1alpha1.OAuthClient, current, previous, reg *corev1.Secret, now time.Time) (string, rotationState) {
	secret := r.clientSecret(ctx, oc, current, previous)
	if secret != "" && current != nil && secret == string(current.Data[KeyClientSecret]) && rotationDue(oc, current, now) {
		return r.rotate(ctx, oc, secret, now)
	}
	state := rotationState{}
	if at, ok := rotatedAt(current); ok {
		state.rotatedAt = at
	}
	if secret != "" {
		state.retiring = retiringFrom(reg, clients.HashSecret(secret), now)
	}
	return secret, state
}

// previousCredentials returns the credentials Secret that oc controlled
// under the name in status.secretName, when spec.secretName has changed
// since, or nil.
func (r *OAuthClientReconciler) previousCredentials(ctx context.Context, oc *v1alpha1.OAuthClient) (*corev1.Secret, error) {
	name := oc.Status.SecretName
	if name == "" || name == oc.CredentialsSecretName() {
		return nil, nil
	}
	previous := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: oc.Namespace, Name: name}, previous)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, provisioningFailed("read the previous credentials Secret", err)
	}
	if !metav1.IsControlledBy(previous, oc) {
		return nil, nil
	}
	return previous, nil
}

// deletePrevious deletes the credentials Secret that oc used before
// spec.secretName changed, once the new one is in place.
func (r *OAuthClientReconciler) deletePrevious(ctx context.Context, oc *v1alpha1.OAuthClient, previous *corev1.Secret) error {
	if previous == nil {
		return nil
	}
	err := r.Client.Delete(ctx, previous, client.Preconditions{UID: &previous.UID})
	if client.IgnoreNotFound(err) != nil {
		return provisioningFailed("delete the previous credentials Secret "+previous.Name, err)
	}
	r.Recorder.Eventf(oc, nil, corev1.EventTypeNormal, "Deleted", "Delete", "previous credentials Secret %s deleted", previous.Name)
	return nil
}

// currentCredentials returns the credentials Secret of oc read through
// reader, or nil when it does not exist. A Secret that oc does not control is a conflict.
func (r *OAuthClientReconciler) currentCredentials(ctx context.Context, oc *v1alpha1.OAuthClient, reader client.Reader) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: oc.Namespace, Name: oc.CredentialsSecretName()}
	current := &corev1.Secret{}
	err := reader.Get(ctx, key, current)
	if apierrors.IsNotFound(err) {
		// The cache may lag behind a Secret written a moment ago. Ask the
		// API server before a new client secret replaces the one inside.
		err = r.APIReader.Get(ctx, key, current)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, provisioningFailed("read the credentials Secret", err)
	}
	if !metav1.IsControlledBy(current, oc) {
		return nil, secretConflict(oc, current)
	}
	return current, nil
}

// secretConflict returns the error for a credentials Secret that oc does
// not control. A Secret left by a deleted OAuthClient of the same name gets
// its own message, because it goes away without help once the garbage
// collector deletes it, and its deletion triggers a new reconcile.
func secretConflict(oc *v1alpha1.OAuthClient, s *corev1.Secret) error {
	message := fmt.Sprintf("Secret %s/%s exists and is not owned by this OAuthClient; delete that Secret, or set spec.secretName to a free name", s.Namespace, s.Name)
	owner := metav1.GetControllerOf(s)
	if owner != nil && owner.Kind == "OAuthClient" && owner.Name == oc.Name && owner.UID != oc.UID {
		message = fmt.Sprintf("Secret %s/%s belongs to a deleted OAuthClient of the same name; the controller writes new credentials once the garbage collector deletes it", s.Namespace, s.Name)
	}
	return &provisionError{reason: v1alpha1.ReasonSecretConflict, terminal: true, message: message}
}

func provisioningFailed(action string, err error) error {
	return &provisionError{reason: v1alpha1.ReasonProvisioningFailed, err: err,
		message: "failed to " + action + "; the controller retries"}
}

// clientSecret returns the client secret to keep: the one in the current
// credentials Secret, or else in the previous one after a rename, when it
// has the form that the controller generates. Otherwise it returns a new
// secret. The plain secret exists only in the credentials Secret. So when
// that Secret is deleted, or its secret is replaced by a value of another
// form, the old secret is lost, and a new one goes into both Secrets. It
// returns "" for a public client.
func (r *OAuthClientReconciler) clientSecret(ctx context.Context, oc *v1alpha1.OAuthClient, current, previous *corev1.Secret) string {
	if oc.Spec.Public {
		return ""
	}
	for _, s := range []*corev1.Secret{current, previous} {
		if s != nil && validSecret(s.Data[KeyClientSecret]) {
			return string(s.Data[KeyClientSecret])
		}
	}
	log.FromContext(ctx).Info("client secret generated", "clientID", ClientID(oc.Namespace, oc.Name))
	return newSecret()
}

// validSecret reports whether s is the unpadded base64url encoding of
// secretBytes bytes, the form that newSecret returns.
func validSecret(s []byte) bool {
	raw, err := base64.RawURLEncoding.DecodeString(string(s))
	return err == nil && len(raw) == secretBytes
}

func newSecret() string {
	raw := make([]byte, secretBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never returns an error since Go 1.24.
	return base64.RawURLEncoding.EncodeToString(raw)
}

// credentialsData returns the data that the credentials Secret of oc must
// hold.
func (r *OAuthClientReconciler) credentialsData(oc *v1alpha1.OAuthClient, secret string) map[string][]byte {
	data := map[string][]byte{
		KeyClientID: []byte(ClientID(oc.Namespace, oc.Name)),
		KeyTokenURL: []byte(r.TokenURL),
		KeyIssuer:   []byte(r.IssuerURL),
	}
	if secret != "" {
		data[KeyClientSecret] = []byte(secret)
	}
	return data
}

// credentialsAnnotations returns the rotation annotations that the
// credentials Secret of oc must carry: the values of this rotation, or
// else the ones that current carries. A secret generated because none
// existed also settles a pending AnnotationRotate request.
func credentialsAnnotations(oc *v1alpha1.OAuthClient, current *corev1.Secret, state rotationState) map[string]string {
	annotations := map[string]string{}
	if state.rotated || current == nil {
		if requested := oc.Annotations[AnnotationRotate]; requested != "" {
			annotations[AnnotationRotateHandled] = requested
		}
	}
	if state.rotated {
		annotations[AnnotationRotatedAt] = state.rotatedAt.UTC().Format(time.RFC3339)
		return annotations
	}
	if current == nil {
		return annotations
	}
	for _, key := range []string{AnnotationRotateHandled, AnnotationRotatedAt} {
		if value, ok := current.Annotations[key]; ok {
			annotations[key] = value
		}
	}
	return annotations
}

// applyCredentials writes the credentials Secret with server-side apply,
// unless current already holds the wanted data and annotations.
func (r *OAuthClientReconciler) applyCredentials(ctx context.Context, oc *v1alpha1.OAuthClient, current *corev1.Secret, secret string, annotations map[string]string) error {
	data := r.credentialsData(oc, secret)
	if current != nil && credentialsMatch(current, data, annotations) {
		return nil
	}

	apply := corev1ac.Secret(oc.CredentialsSecretName(), oc.Namespace).
		WithType(corev1.SecretTypeOpaque).
		WithAnnotations(annotations).
		WithData(data).
		WithOwnerReferences(controllerReference(oc))
	if err := r.Client.Apply(ctx, apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return provisioningFailed("write the credentials Secret", err)
	}
	r.recordWrite(oc, current == nil, "credentials Secret "+oc.CredentialsSecretName())
	return nil
}

// credentialsMatch reports whether s holds exactly the wanted values under
// the controller's keys and rotation annotations. Keys and annotations
// that someone else added are left alone.
func credentialsMatch(s *corev1.Secret, want map[string][]byte, annotations map[string]string) bool {
	for _, key := range []string{KeyClientID, KeyClientSecret, KeyTokenURL, KeyIssuer} {
		got, gotOK := s.Data[key]
		value, wantOK := want[key]
		if gotOK != wantOK || string(got) != string(value) {
			return false
		}
	}
	return annotationsMatch(s.Annotations, annotations, AnnotationRotateHandled, AnnotationRotatedAt)
}

// annotationsMatch reports whether got and want agree on each of keys,
// where a key absent from want must be absent from got.
func annotationsMatch(got, want map[string]string, keys ...string) bool {
	for _, key := range keys {
		g, gotOK := got[key]
		w, wantOK := want[key]
		if gotOK != wantOK || g != w {
			return false
		}
	}
	return true
}

func controllerReference(oc *v1alpha1.OAuthClient) *metav1ac.OwnerReferenceApplyConfiguration {
	gvk := v1alpha1.GroupVersion.WithKind("OAuthClient")
	return metav1ac.OwnerReference().
		WithAPIVersion(gvk.GroupVersion().String()).
		WithKind(gvk.Kind).
		WithName(oc.Name).
		WithUID(oc.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// recordWrite records an Event for a Secret that was created or updated.
func (r *OAuthClientReconciler) recordWrite(oc *v1alpha1.OAuthClient, created bool, secretDescription string) {
	if created {
		r.Recorder.Eventf(oc, nil, corev1.EventTypeNormal, "Created", "Create", "%s created", secretDescription)
		return
	}
	r.Recorder.Eventf(oc, nil, corev1.EventTypeNormal, "Updated", "Update", "%s updated", secretDescription)
}
