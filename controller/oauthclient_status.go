package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
)

// updateStatus records the outcome of provisioning in the status of oc,
// records a warning Event on failure, and writes the status only when it
// changed, so that a reconcile with nothing to do writes nothing.
func (r *OAuthClientReconciler) updateStatus(ctx context.Context, oc *v1alpha1.OAuthClient, state rotationState, provisionErr error) error {
	before := oc.Status.DeepCopy()
	oc.Status.ObservedGeneration = oc.Generation
	oc.Status.ClientID = ClientID(oc.Namespace, oc.Name)
	meta.SetStatusCondition(&oc.Status.Conditions, readyCondition(oc, state, provisionErr))
	if provisionErr == nil {
		oc.Status.SecretName = oc.CredentialsSecretName()
		setLastRotation(&oc.Status, state.rotatedAt)
	}
	if provisionErr != nil {
		r.recordFailure(oc, provisionErr)
	}

	if equality.Semantic.DeepEqual(before, &oc.Status) {
		return nil
	}
	if err := r.Client.Status().Update(ctx, oc, client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}

// setLastRotation sets status.lastRotationTime to at when at is later. The
// credentials Secret records the time too, so a status lost after a
// rotation is restored on the next reconcile.
func setLastRotation(status *v1alpha1.OAuthClientStatus, at time.Time) {
	if at.IsZero() || status.LastRotationTime != nil && !at.After(status.LastRotationTime.Time) {
		return
	}
	status.LastRotationTime = &metav1.Time{Time: at}
}

// readyCondition returns the Ready condition for the outcome err. During
// a rotation overlap, Ready stays True with reason Rotating, because the
// client works with either secret.
func readyCondition(oc *v1alpha1.OAuthClient, state rotationState, err error) metav1.Condition {
	cond := metav1.Condition{
		Type:               v1alpha1.ConditionReady,
		Status:             metav1.ConditionTrue,
		ObservedGeneration: oc.Generation,
		Reason:             v1alpha1.ReasonProvisioned,
		Message:            fmt.Sprintf("credentials Secret %s and the issuer registration match the spec", oc.CredentialsSecretName()),
	}
	if err == nil && state.retiring != nil {
		cond.Reason = v1alpha1.ReasonRotating
		cond.Message = fmt.Sprintf("credentials Secret %s holds a new client secret; the previous one works until %s",
			oc.CredentialsSecretName(), state.retiring.at.UTC().Format(time.RFC3339))
	}
	if err == nil {
		return cond
	}
	cond.Status = metav1.ConditionFalse
	cond.Reason, cond.Message = v1alpha1.ReasonProvisioningFailed, err.Error()
	var failure *provisionError
	if errors.As(err, &failure) {
		cond.Reason = failure.reason
	}
	return cond
}

// recordFailure records the failure as a warning Event. The caller
// returns the error, and controller-runtime logs it. Error texts never
// contain a client secret, because the controller puts secrets only into
// Secret data, which no message quotes.
func (r *OAuthClientReconciler) recordFailure(oc *v1alpha1.OAuthClient, err error) {
	reason := v1alpha1.ReasonProvisioningFailed
	var failure *provisionError
	if errors.As(err, &failure) {
		reason = failure.reason
	}
	r.Recorder.Eventf(oc, nil, corev1.EventTypeWarning, reason, "Provision", "%s", err.Error())
}
