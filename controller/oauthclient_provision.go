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

// clientSecrets are the Secrets of one OAuthClient that a reconcile reads
// before it writes. Each is nil when it does not exist.
type clientSecrets struct {
	credentials  *corev1.Secret
	registration *corev1.Secret
	escrow       *corev1.Secret
}

// provision writes the escrow, registration and credentials Secrets of oc
// and rotates its client secret when a rotation is due. It returns what it
// decided about rotation, and a *provisionError for a failure with its own
// condition reason.
//
// The writes go in an order that never loses a secret that a workload may
// hold. The escrow takes a new secret first, so a failure after it leaves
// the controller a copy. The registration comes next, so the issuer
// accepts a new secret before any workload can read it, and keeps
// accepting the previous one until the overlap ends. The credentials
// Secret comes last.
func (r *OAuthClientReconciler) provision(ctx context.Context, oc *v1alpha1.OAuthClient) (rotationState, error) {
	now := r.now()
	found, err := r.readSecrets(ctx, oc, now)
	if err != nil {
		return rotationState{}, err
	}
	previous, err := r.previousCredentials(ctx, oc)
	if err != nil {
		return rotationState{}, err
	}
	choice := r.clientSecret(ctx, oc, found, previous)
	secret, state := r.secretAndRotation(ctx, oc, found, choice, now)
	model := clientModel(oc)
	if !oc.Spec.Public {
		model.SecretHashes = secretHashes(secret, state.retiring)
	}
	if err := model.Validate(); err != nil {
		return rotationState{}, &provisionError{reason: v1alpha1.ReasonInvalidSpec, terminal: true, err: err,
			message: "the issuer rejects this client as invalid; change the field of the spec that the error names, or use a shorter resource name for a too long client ID"}
	}

	if err := r.writeSecrets(ctx, oc, found, model, secret, credentialsAnnotations(oc, choice, state), state); err != nil {
		return rotationState{}, err
	}
	schedule(oc, choice.from, &state)
	return state, r.deletePrevious(ctx, oc, previous)
}

// writeSecrets writes the escrow, registration and credentials Secrets of
// oc in that order, each only when it differs from the copy in found.
func (r *OAuthClientReconciler) writeSecrets(ctx context.Context, oc *v1alpha1.OAuthClient, found clientSecrets, model clients.Client, secret string, annotations map[string]string, state rotationState) error {
	if err := r.applyEscrow(ctx, oc, found.escrow, secret, state.retiring, annotations); err != nil {
		return err
	}
	if err := r.applyRegistration(ctx, oc, model, found.registration, state); err != nil {
		return err
	}
	if err := r.applyCredentials(ctx, oc, found.credentials, secret, annotations); err != nil {
		return err
	}
	if state.rotated {
		r.Recorder.Eventf(oc, nil, corev1.EventTypeNormal, "Rotated", "Rotate",
			"credentials Secret %s holds the new client secret", oc.CredentialsSecretName())
	}
	return nil
}

// readSecrets returns the credentials, registration and escrow Secrets of
// oc. It reads them through the cache, and again past the cache unless the
// cached copies agree with each other and no rotation is due. A cache that
// lags behind the last write could otherwise make the controller restore
// an older secret, generate a new one, or start a second rotation that
// drops a secret that workloads use.
func (r *OAuthClientReconciler) readSecrets(ctx context.Context, oc *v1alpha1.OAuthClient, now time.Time) (clientSecrets, error) {
	cached, err := r.getSecrets(ctx, oc, r.Client)
	if err != nil || cached.settled(oc, now) {
		return cached, err
	}
	return r.getSecrets(ctx, oc, r.APIReader)
}

func (r *OAuthClientReconciler) getSecrets(ctx context.Context, oc *v1alpha1.OAuthClient, reader client.Reader) (clientSecrets, error) {
	var found clientSecrets
	var err error
	if found.credentials, err = r.currentCredentials(ctx, oc, reader); err != nil {
		return clientSecrets{}, err
	}
	if found.registration, err = r.currentRegistration(ctx, oc, reader); err != nil {
		return clientSecrets{}, err
	}
	if found.escrow, err = r.currentEscrow(ctx, oc, reader); err != nil {
		return clientSecrets{}, err
	}
	return found, nil
}

// settled reports whether the Secrets in s need no decision about the
// client secret at now. For a public client, the credentials Secret must
// exist. For a confidential one, it must contain a secret that the
// registration lists and the escrow contains as its newest, and no
// rotation may be due.
func (s clientSecrets) settled(oc *v1alpha1.OAuthClient, now time.Time) bool {
	if s.credentials == nil {
		return false
	}
	if oc.Spec.Public {
		return true
	}
	secret := s.credentials.Data[KeyClientSecret]
	if !validSecret(secret) || s.escrow == nil || string(s.escrow.Data[KeyClientSecret]) != string(secret) {
		return false
	}
	return registeredHashes(s.registration)[clients.HashSecret(string(secret))] && !rotationDue(oc, s.credentials, now)
}

// secretAndRotation returns the client secret to write and the rotation
// state: a new secret when a rotation is due, else the chosen secret.
func (r *OAuthClientReconciler) secretAndRotation(ctx context.Context, oc *v1alpha1.OAuthClient, found clientSecrets, choice secretChoice, now time.Time) (string, rotationState) {
	current := found.credentials
	if choice.value != "" && current != nil && choice.value == string(current.Data[KeyClientSecret]) && rotationDue(oc, current, now) {
		return r.rotate(ctx, oc, choice.value, now)
	}
	state := rotationState{}
	if at, ok := rotatedAt(choice.from); ok {
		state.rotatedAt = at
	}
	if choice.value != "" {
		state.retiring = retiringFrom(found.registration, found.escrow, clients.HashSecret(choice.value), now)
	}
	return choice.value, state
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

// secretChoice is the client secret that the credentials Secret must hold.
type secretChoice struct {
	// value is the secret, or "" for a public client.
	value string
	// from is the Secret that holds value, whose rotation annotations the
	// credentials Secret keeps, or nil.
	from *corev1.Secret
	// generated is true for a new secret, which settles a pending
	// AnnotationRotate request.
	generated bool
}

// clientSecret returns the client secret to keep, looking in this order:
//
//  1. the escrow Secret's newest secret, when the registration lists it;
//  2. the current credentials Secret, then the previous one after a
//     rename, then the escrow's previous secret, when the registration
//     lists it;
//  3. the escrow Secret's newest secret, when the registration is gone;
//  4. the current or previous credentials Secret, when it holds a secret of
//     the generated form and the escrow has none, as after Gatehouse's
//     namespace was recreated.
//
// So a deleted credentials Secret, or a client_secret edited to any other
// value, even the previous secret during a rotation overlap, gets the
// newest escrowed secret back: an app that has read the new secret keeps
// working. A rotation that failed after the escrow write but before the
// registration write keeps the registered secret that workloads hold. Only when all these
// sources are gone does it generate a new secret. For a public client it
// returns no secret.
func (r *OAuthClientReconciler) clientSecret(ctx context.Context, oc *v1alpha1.OAuthClient, found clientSecrets, previous *corev1.Secret) secretChoice {
	if oc.Spec.Public {
		return secretChoice{from: found.credentials}
	}
	registered := registeredHashes(found.registration)
	isRegistered := func(secret []byte) bool { return registered[clients.HashSecret(string(secret))] }
	candidates := []struct {
		from   *corev1.Secret
		key    string
		usable func([]byte) bool
	}{
		{found.escrow, KeyClientSecret, isRegistered},
		{found.credentials, KeyClientSecret, isRegistered},
		{previous, KeyClientSecret, isRegistered},
		{found.escrow, EscrowKeyPrevious, isRegistered},
		{found.escrow, KeyClientSecret, anySecret},
		{found.credentials, KeyClientSecret, anySecret},
		{previous, KeyClientSecret, anySecret},
	}
	for _, c := range candidates {
		if c.from == nil || !validSecret(c.from.Data[c.key]) || !c.usable(c.from.Data[c.key]) {
			continue
		}
		choice := secretChoice{value: string(c.from.Data[c.key]), from: c.from}
		if c.key == EscrowKeyPrevious {
			// The newest secret never reached the issuer, so its rotation
			// annotations do not describe this secret.
			choice.from = nil
		}
		r.logRestore(ctx, oc, found, c.from)
		return choice
	}
	log.FromContext(ctx).Info("client secret generated", "clientID", ClientID(oc.Namespace, oc.Name))
	return secretChoice{value: newSecret(), generated: true}
}

func anySecret([]byte) bool { return true }

// logRestore logs a client secret taken from the escrow for a credentials
// Secret that was deleted or edited. It logs the names, never the secret.
func (r *OAuthClientReconciler) logRestore(ctx context.Context, oc *v1alpha1.OAuthClient, found clientSecrets, from *corev1.Secret) {
	if from == nil || from != found.escrow {
		return
	}
	log.FromContext(ctx).Info("client secret restored from the escrow",
		"clientID", ClientID(oc.Namespace, oc.Name), "escrowSecret", from.Name,
		"credentialsSecret", oc.CredentialsSecretName(), "credentialsSecretFound", found.credentials != nil)
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
// credentials Secret of oc must carry: the values of this rotation, or else
// the ones that the Secret holding the chosen secret carries. A new secret
// that was generated because none existed settles a pending
// AnnotationRotate request.
func credentialsAnnotations(oc *v1alpha1.OAuthClient, choice secretChoice, state rotationState) map[string]string {
	annotations := map[string]string{}
	if state.rotated || choice.generated {
		if requested := oc.Annotations[AnnotationRotate]; requested != "" {
			annotations[AnnotationRotateHandled] = requested
		}
	}
	if state.rotated {
		annotations[AnnotationRotatedAt] = state.rotatedAt.UTC().Format(time.RFC3339)
		return annotations
	}
	if choice.from == nil {
		return annotations
	}
	for _, key := range []string{AnnotationRotateHandled, AnnotationRotatedAt} {
		if value, ok := choice.from.Annotations[key]; ok {
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
