package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// The escrow Secret of a confidential OAuthClient is the controller's own
// copy of the plain client secret. The registration Secret contains only
// hashes, so without the escrow a deleted or edited credentials Secret
// could only be replaced by a new secret, and the running app's secret
// would stop working.
//
// The escrow lives in Gatehouse's namespace next to the registration
// Secret, because the controller alone writes there and app teams cannot
// read it. The issuer's Role can read every Secret of that namespace too,
// since RBAC cannot grant Secrets by label, but the issuer already holds
// the signing keys, which are worth more than any client secret. The
// issuer selects only Secrets that carry LabelRegistration, so the escrow
// carries LabelEscrow in its place and never reaches the issuer's client
// list.
const (
	// LabelEscrow marks an escrow Secret with the value EscrowKindClient.
	LabelEscrow = "gatehouse.dev/escrow"
	// EscrowKindClient is the LabelEscrow value of a client's escrow
	// Secret.
	EscrowKindClient = "client"
	// EscrowKeyPrevious is the data key of the escrow Secret for the
	// previous client secret during a rotation overlap. The newest secret
	// is under KeyClientSecret.
	EscrowKeyPrevious = "previous_client_secret"
)

// EscrowSecretName returns the name of the escrow Secret of the OAuthClient
// name in namespace: its registration Secret's name followed by "-escrow".
func EscrowSecretName(namespace, name string) string {
	return RegistrationSecretName(namespace, name) + "-escrow"
}

// currentEscrow returns the escrow Secret of oc read through reader, or nil
// when it does not exist.
func (r *OAuthClientReconciler) currentEscrow(ctx context.Context, oc *v1alpha1.OAuthClient, reader client.Reader) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: r.Namespace, Name: EscrowSecretName(oc.Namespace, oc.Name)}
	current := &corev1.Secret{}
	err := reader.Get(ctx, key, current)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, provisioningFailed("read the escrow Secret", err)
	}
	return current, nil
}

// escrowLabels returns the labels of the escrow Secret of oc. They leave
// out LabelRegistration, which the issuer selects by.
func escrowLabels(oc *v1alpha1.OAuthClient) map[string]string {
	labels := registrationLabels(oc)
	delete(labels, LabelRegistration)
	labels[LabelEscrow] = EscrowKindClient
	return labels
}

// escrowAnnotations returns the annotations of the escrow Secret of oc:
// the resource it belongs to, the rotation annotations that the
// credentials Secret carries, and AnnotationRetireAt when the escrow holds
// a previous secret.
func escrowAnnotations(oc *v1alpha1.OAuthClient, credentials map[string]string, old *retiring) map[string]string {
	annotations := registrationAnnotations(oc)
	for key, value := range credentials {
		annotations[key] = value
	}
	if old != nil && old.secret != "" {
		annotations[AnnotationRetireAt] = old.at.UTC().Format(time.RFC3339)
	}
	return annotations
}

// escrowData returns the data that the escrow Secret must hold: the newest
// secret, and the previous one while it is retiring and still known.
func escrowData(secret string, old *retiring) map[string][]byte {
	data := map[string][]byte{KeyClientSecret: []byte(secret)}
	if old != nil && old.secret != "" {
		data[EscrowKeyPrevious] = []byte(old.secret)
	}
	return data
}

// applyEscrow writes the escrow Secret of oc with server-side apply, or
// deletes it for a public client. It skips the write when current already
// holds the wanted labels, annotations and data. Keys and annotations that
// the apply leaves out are removed, because the controller's field manager
// owns them.
func (r *OAuthClientReconciler) applyEscrow(ctx context.Context, oc *v1alpha1.OAuthClient, current *corev1.Secret, secret string, old *retiring, credentials map[string]string) error {
	if secret == "" {
		return r.deleteEscrow(ctx, oc, current)
	}
	data := escrowData(secret, old)
	labels, annotations := escrowLabels(oc), escrowAnnotations(oc, credentials, old)
	if current != nil && escrowMatches(current, labels, annotations, data) {
		return nil
	}

	apply := corev1ac.Secret(EscrowSecretName(oc.Namespace, oc.Name), r.Namespace).
		WithType(corev1.SecretTypeOpaque).
		WithLabels(labels).
		WithAnnotations(annotations).
		WithData(data)
	if err := r.Client.Apply(ctx, apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return provisioningFailed("write the escrow Secret", err)
	}
	return nil
}

// deleteEscrow deletes current, the escrow Secret of a client that has no
// secret, if it exists.
func (r *OAuthClientReconciler) deleteEscrow(ctx context.Context, oc *v1alpha1.OAuthClient, current *corev1.Secret) error {
	if current == nil {
		return nil
	}
	err := r.Client.Delete(ctx, current, client.Preconditions{UID: &current.UID})
	if client.IgnoreNotFound(err) != nil {
		return provisioningFailed("delete the escrow Secret "+r.Namespace+"/"+current.Name, err)
	}
	return nil
}

// escrowMatches reports whether s holds exactly data under the escrow's
// keys, carries the wanted labels and annotations, and lacks the rotation
// annotations that are not wanted.
func escrowMatches(s *corev1.Secret, labels, annotations map[string]string, data map[string][]byte) bool {
	for _, key := range []string{KeyClientSecret, EscrowKeyPrevious} {
		got, gotOK := s.Data[key]
		want, wantOK := data[key]
		if gotOK != wantOK || string(got) != string(want) {
			return false
		}
	}
	if !annotationsMatch(s.Annotations, annotations, AnnotationRotateHandled, AnnotationRotatedAt, AnnotationRetireAt) {
		return false
	}
	return containsAll(s.Labels, labels) && containsAll(s.Annotations, annotations)
}

// escrowRetiring returns the previous secret that the escrow Secret holds,
// with its retirement time, or nil when there is none, it has expired at
// now, or it is the current secret. It restores the retiring hash of a
// registration Secret that was deleted or edited during an overlap.
func escrowRetiring(escrow *corev1.Secret, currentHash string, now time.Time) *retiring {
	if escrow == nil {
		return nil
	}
	previous := escrow.Data[EscrowKeyPrevious]
	at, err := time.Parse(time.RFC3339, escrow.Annotations[AnnotationRetireAt])
	if !validSecret(previous) || err != nil || !now.Before(at) {
		return nil
	}
	hash := clients.HashSecret(string(previous))
	if hash == currentHash {
		return nil
	}
	return &retiring{hash: hash, at: at, secret: string(previous)}
}

// registeredHashes returns the set of secret hashes that the registration
// Secret reg lists, which are the secrets that the issuer accepts. A
// missing or unreadable registration lists none.
func registeredHashes(reg *corev1.Secret) map[string]bool {
	if reg == nil {
		return nil
	}
	var file registrationFile
	if err := yaml.Unmarshal(reg.Data[RegistrationKey], &file); err != nil || len(file.Clients) != 1 {
		return nil
	}
	hashes := make(map[string]bool, len(file.Clients[0].SecretHashes))
	for _, hash := range file.Clients[0].SecretHashes {
		hashes[hash] = true
	}
	return hashes
}
