package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// Annotations that drive and record client secret rotation.
const (
	// AnnotationRotate on an OAuthClient requests one rotation each time
	// its value changes to a value that the controller has not acted on. A
	// rotation during the overlap of the previous one retires the oldest
	// secret at once, so that at most two secrets are valid.
	AnnotationRotate = "gatehouse.dev/rotate"
	// AnnotationRotateHandled on the credentials Secret is the
	// AnnotationRotate value that the controller last acted on. It is
	// written together with the new secret, so a crash cannot separate
	// them.
	AnnotationRotateHandled = "gatehouse.dev/rotate-handled"
	// AnnotationRotatedAt on the credentials Secret is the RFC 3339 time
	// at which the controller wrote the secret that it holds by rotation.
	AnnotationRotatedAt = "gatehouse.dev/rotated-at"
	// AnnotationRetiringHash on the registration Secret is the hash of the
	// previous client secret, which stays valid until AnnotationRetireAt.
	AnnotationRetiringHash = "gatehouse.dev/retiring-secret-hash"
	// AnnotationRetireAt on the registration Secret is the RFC 3339 time at
	// which the controller drops AnnotationRetiringHash. On the escrow
	// Secret, it is the time at which the controller drops the previous
	// secret.
	AnnotationRetireAt = "gatehouse.dev/retire-at"
)

// DefaultRotationOverlap is how long the previous secret keeps working
// after a rotation that AnnotationRotate requested on a client without
// spec.secretRotation.
//
// NOTE: one hour is a judgement, not a measurement. A workload that reads
// the Secret only at start must restart within it.
const DefaultRotationOverlap = time.Hour

// retiring is a previous client secret hash that stays valid until at.
type retiring struct {
	hash string
	at   time.Time
	// secret is the previous secret itself when the controller still has
	// it, for the escrow Secret, or "".
	secret string
}

// now returns the reconciler's current time.
func (r *OAuthClientReconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// rotationState is the outcome of one reconcile for secret rotation. The
// zero value means that no rotation is due and no previous secret is
// retiring.
type rotationState struct {
	// rotated is true when this reconcile issued a new secret.
	rotated bool
	// rotatedAt is the time of the latest rotation known, or zero.
	rotatedAt time.Time
	// retiring is the previous secret that still works, if any.
	retiring *retiring
	// next is when the controller must act again: the retirement time or
	// the next scheduled rotation. It is zero when nothing is scheduled.
	next time.Time
}

// rotationDue reports whether oc needs a new client secret at now, given
// its current credentials Secret.
func rotationDue(oc *v1alpha1.OAuthClient, current *corev1.Secret, now time.Time) bool {
	if oc.Spec.Public || current == nil {
		return false
	}
	requested := oc.Annotations[AnnotationRotate]
	if requested != "" && requested != current.Annotations[AnnotationRotateHandled] {
		return true
	}
	if oc.Spec.SecretRotation == nil {
		return false
	}
	return !now.Before(nextRotation(oc, current))
}

// nextRotation returns when the next scheduled rotation of oc is due: one
// interval after the latest rotation, or after creation when there was
// none. The credentials Secret carries the rotation time as well, so a
// status lost in a backup and restore does not cause an early rotation.
func nextRotation(oc *v1alpha1.OAuthClient, current *corev1.Secret) time.Time {
	last := oc.CreationTimestamp.Time
	if oc.Status.LastRotationTime != nil && oc.Status.LastRotationTime.After(last) {
		last = oc.Status.LastRotationTime.Time
	}
	if at, ok := rotatedAt(current); ok && at.After(last) {
		last = at
	}
	return last.Add(oc.Spec.SecretRotation.Interval.Duration)
}

// rotatedAt returns the rotation time recorded on the credentials Secret s.
func rotatedAt(s *corev1.Secret) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339, s.Annotations[AnnotationRotatedAt])
	return at, err == nil
}

// rotationOverlap returns how long the previous secret of oc keeps
// working after a rotation.
func rotationOverlap(oc *v1alpha1.OAuthClient) time.Duration {
	if oc.Spec.SecretRotation == nil {
		return DefaultRotationOverlap
	}
	return oc.Spec.SecretRotation.Overlap.Duration
}

// retiringFrom returns the previous secret that stays valid next to the
// one with currentHash. It takes the one that the registration Secret reg
// names, or else the one in the escrow Secret, so that a registration lost
// during an overlap gets its retiring hash back. It returns nil when there
// is none, it has expired at now, or it equals the current secret.
func retiringFrom(reg, escrow *corev1.Secret, currentHash string, now time.Time) *retiring {
	fromEscrow := escrowRetiring(escrow, currentHash, now)
	old := registeredRetiring(reg, currentHash, now)
	if old == nil {
		return fromEscrow
	}
	if fromEscrow != nil && fromEscrow.hash == old.hash {
		old.secret = fromEscrow.secret
	}
	return old
}

// registeredRetiring returns the previous secret hash that the
// registration Secret reg keeps valid, or nil when there is none, it has
// expired at now, or it equals the current hash.
func registeredRetiring(reg *corev1.Secret, currentHash string, now time.Time) *retiring {
	if reg == nil {
		return nil
	}
	hash := reg.Annotations[AnnotationRetiringHash]
	at, err := time.Parse(time.RFC3339, reg.Annotations[AnnotationRetireAt])
	if hash == "" || err != nil || hash == currentHash || !now.Before(at) {
		return nil
	}
	return &retiring{hash: hash, at: at}
}

// secretHashes returns the hashes that the registration lists: the current
// secret first, then the retiring one.
func secretHashes(secret string, old *retiring) []string {
	hashes := []string{clients.HashSecret(secret)}
	if old != nil {
		hashes = append(hashes, old.hash)
	}
	return hashes
}

// rotate issues a new secret for oc and returns it with the state that
// keeps the previous secret valid for the overlap.
func (r *OAuthClientReconciler) rotate(ctx context.Context, oc *v1alpha1.OAuthClient, previous string, now time.Time) (string, rotationState) {
	log.FromContext(ctx).Info("client secret rotated", "clientID", ClientID(oc.Namespace, oc.Name))
	old := &retiring{hash: clients.HashSecret(previous), at: now.Add(rotationOverlap(oc)).Truncate(time.Second), secret: previous}
	return newSecret(), rotationState{rotated: true, rotatedAt: now.Truncate(time.Second), retiring: old}
}

// schedule sets state.next for oc from the retirement time and the next
// scheduled rotation, whichever comes first.
func schedule(oc *v1alpha1.OAuthClient, current *corev1.Secret, state *rotationState) {
	if state.retiring != nil {
		state.next = state.retiring.at
		return
	}
	if oc.Spec.Public || oc.Spec.SecretRotation == nil {
		return
	}
	if state.rotated {
		state.next = state.rotatedAt.Add(oc.Spec.SecretRotation.Interval.Duration)
		return
	}
	state.next = nextRotation(oc, current)
}
