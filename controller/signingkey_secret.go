package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/gatehouse-dev/gatehouse/internal/keyset"
)

// readKeySet reads the key-set Secret from the API server. It returns a nil
// Secret when the Secret does not exist, and a nil set when the Secret is
// missing or has no keys.json or an empty one, since then there are no keys
// to lose. A keys.json that does not parse returns the Secret with an error
// that wraps keyset.ErrInvalid.
func (r *SigningKeyReconciler) readKeySet(ctx context.Context) (*corev1.Secret, *keyset.Set, error) {
	current := &corev1.Secret{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.SecretName}, current)
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read signing-key Secret: %w", err)
	}
	data := current.Data[keyset.SecretDataKey]
	if len(data) == 0 {
		return current, nil, nil
	}
	set, err := keyset.Parse(data)
	if err != nil {
		return current, nil, fmt.Errorf("parse %s of Secret %s/%s: %w", keyset.SecretDataKey, r.Namespace, r.SecretName, err)
	}
	return current, set, nil
}

func hasKeySetLabel(s *corev1.Secret) bool {
	return s != nil && s.Labels[keyset.LabelRegistration] == keyset.LabelValue
}

// write stores next in the Secret. A missing Secret is created with Create,
// which fails if another writer created it meanwhile, because server-side
// apply would silently replace that writer's keys. An existing Secret is
// updated with server-side apply under FieldManager, with its
// resourceVersion as a precondition, so that a plan made from a stale read
// fails with a conflict instead of dropping keys. Reconcile plans again
// from a fresh read after either failure.
func (r *SigningKeyReconciler) write(ctx context.Context, current *corev1.Secret, before, next *keyset.Set) error {
	data, err := keyset.Marshal(next)
	if err != nil {
		return fmt.Errorf("encode signing keys: %w", err)
	}
	written, err := r.store(ctx, current, data)
	if err != nil {
		return err
	}
	r.reportWrite(ctx, written, before, next)
	return nil
}

func (r *SigningKeyReconciler) store(ctx context.Context, current *corev1.Secret, data []byte) (*corev1.Secret, error) {
	labels := map[string]string{keyset.LabelRegistration: keyset.LabelValue}
	if current == nil {
		created := r.secretStub()
		created.Labels = labels
		created.Type = corev1.SecretTypeOpaque
		created.Data = map[string][]byte{keyset.SecretDataKey: data}
		if err := r.Client.Create(ctx, created, client.FieldOwner(FieldManager)); err != nil {
			return nil, fmt.Errorf("create signing-key Secret: %w", err)
		}
		return created, nil
	}
	apply := corev1ac.Secret(r.SecretName, r.Namespace).
		WithResourceVersion(current.ResourceVersion).
		WithType(corev1.SecretTypeOpaque).
		WithLabels(labels).
		WithData(map[string][]byte{keyset.SecretDataKey: data})
	if err := r.Client.Apply(ctx, apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("update signing-key Secret: %w", err)
	}
	written := current.DeepCopy()
	written.ResourceVersion = *apply.ResourceVersion
	return written, nil
}

// reportWrite logs what a write changed and records it as an Event on the
// Secret. Only kids, which are public, appear in logs and Events.
func (r *SigningKeyReconciler) reportWrite(ctx context.Context, secret *corev1.Secret, before, next *keyset.Set) {
	logger := log.FromContext(ctx)
	if before == nil {
		r.reportCreated(ctx, secret, next)
		return
	}
	oldActive, newActive := before.Active().ID, next.Active().ID
	dropped := droppedKeys(before, next)
	if oldActive != newActive {
		signingKeyRotations.Inc()
		logger.Info("signing key rotated", "activeKid", newActive, "retiringKid", oldActive, "nextKid", nextKeyID(next))
		r.Recorder.Eventf(secret, nil, corev1.EventTypeNormal, "KeyRotated", "Rotate",
			"key %s signs now; %s is retiring and %s is the next key", newActive, oldActive, nextKeyID(next))
	}
	if len(dropped) > 0 {
		logger.Info("retired signing keys removed", "kids", dropped)
		r.Recorder.Eventf(secret, nil, corev1.EventTypeNormal, "KeysRemoved", "Retire",
			"retired keys %s are no longer published", strings.Join(dropped, ", "))
	}
	if oldActive == newActive && nextKeyID(before) != nextKeyID(next) {
		logger.Info("next signing key added", "nextKid", nextKeyID(next), "replacedKid", nextKeyID(before))
		r.Recorder.Eventf(secret, nil, corev1.EventTypeNormal, "NextKeyAdded", "Generate",
			"key %s is published and signs from the next rotation", nextKeyID(next))
	}
}

// reportCreated logs and records a key set written where none was. When
// this process had read a valid key set before, the Secret was deleted, and
// tokens signed with the lost keys no longer verify.
//
// NOTE: after a restart of the controller a deleted Secret looks like a
// first start, so the Event is then a Normal KeySetCreated.
func (r *SigningKeyReconciler) reportCreated(ctx context.Context, secret *corev1.Secret, next *keyset.Set) {
	logger := log.FromContext(ctx)
	if r.hadKeySet.Load() {
		logger.Info("signing-key Secret was deleted or emptied, so new keys replace the previous ones and tokens they signed no longer verify",
			"activeKid", next.Active().ID, "nextKid", nextKeyID(next))
		r.Recorder.Eventf(secret, nil, corev1.EventTypeWarning, "KeySetRecreated", "Create",
			"the key set was deleted and is replaced by new keys (active %s); tokens signed with the previous keys no longer verify",
			next.Active().ID)
		return
	}
	logger.Info("signing-key Secret created", "activeKid", next.Active().ID, "nextKid", nextKeyID(next))
	r.Recorder.Eventf(secret, nil, corev1.EventTypeNormal, "KeySetCreated", "Create",
		"new key set with active key %s and next key %s", next.Active().ID, nextKeyID(next))
}

func nextKeyID(s *keyset.Set) string {
	for _, k := range s.Keys {
		if k.State == keyset.StateNext {
			return k.Signing.ID
		}
	}
	return ""
}

// droppedKeys returns the kids in before that next no longer holds.
func droppedKeys(before, next *keyset.Set) []string {
	var dropped []string
	for _, k := range before.Keys {
		if !slices.ContainsFunc(next.Keys, func(n keyset.Key) bool { return n.Signing.ID == k.Signing.ID }) {
			dropped = append(dropped, k.Signing.ID)
		}
	}
	return dropped
}
