package controller

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/keyset"
)

// maxSigningKeyRequeue bounds the wait for the next rotation step. The
// workqueue measures delays on the monotonic clock, which may stand still
// while a machine is suspended, so the reconciler checks the wall clock at
// least this often.
const maxSigningKeyRequeue = time.Hour

// SigningKeyReconciler keeps the key-set Secret in Gatehouse's namespace,
// from which the issuer signs tokens and publishes its JWKS. It creates the
// keys when the Secret is missing, and it promotes and drops keys as
// keyset.Plan decides. It never overwrites a Secret whose keys.json it
// cannot parse: it logs the error, counts it, records a Warning Event on the
// Secret and retries with back-off until a person fixes or deletes it.
type SigningKeyReconciler struct {
	// Client writes the Secret.
	Client client.Client
	// APIReader reads the Secret past the cache, so that a cache that has
	// not yet seen the Secret cannot make the reconciler replace every key.
	// When nil, SetupWithManager sets it to the manager's API reader.
	APIReader client.Reader
	// Namespace is Gatehouse's own namespace, which holds the Secret.
	Namespace string
	// SecretName is the name of the Secret. When empty, SetupWithManager
	// sets it to keyset.DefaultSecretName.
	SecretName string
	// Policy sets the algorithm and the times of the rotation.
	Policy keyset.Policy
	// Recorder records Events on the Secret.
	Recorder events.EventRecorder
	// Now returns the current time. When nil, the reconciler uses time.Now.
	Now func() time.Time

	// hadKeySet records that this process has read a valid key set, so that a
	// missing Secret afterwards was deleted rather than never created.
	hadKeySet atomic.Bool
}

// SetupWithManager checks the configuration and registers the reconciler
// with mgr. The reconciler watches only its Secret, runs once when the
// manager starts (so that a missing Secret is created), and requeues itself
// for the next rotation step.
func (r *SigningKeyReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if r.Namespace == "" {
		return errors.New("signing-key reconciler: the namespace of the signing-key Secret is missing")
	}
	if r.SecretName == "" {
		r.SecretName = keyset.DefaultSecretName
	}
	if err := r.Policy.Validate(); err != nil {
		return fmt.Errorf("signing-key reconciler: %w", err)
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	registerSigningKeyMetrics()

	// One event in a buffered channel: the controller reads it when it
	// starts, which happens only on the leader.
	start := make(chan event.GenericEvent, 1)
	start <- event.GenericEvent{Object: r.secretStub()}
	err := ctrl.NewControllerManagedBy(mgr).
		For(&corev1.Secret{}, builder.WithPredicates(predicate.NewPredicateFuncs(r.isKeySetSecret))).
		WatchesRawSource(source.Channel(start, &handler.EnqueueRequestForObject{})).
		Named("signingkey").
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up signing-key controller: %w", err)
	}
	return nil
}

func (r *SigningKeyReconciler) isKeySetSecret(obj client.Object) bool {
	return obj.GetNamespace() == r.Namespace && obj.GetName() == r.SecretName
}

// secretStub returns a Secret with only the namespace and name of the
// key-set Secret, enough to enqueue it or to address an Event.
func (r *SigningKeyReconciler) secretStub() *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: r.SecretName}}
}

// Reconcile reads the key-set Secret, applies keyset.Plan at the current
// time, writes the Secret when the plan changed it, and requeues for the
// plan's next due time.
func (r *SigningKeyReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx).WithValues("secret", r.Namespace+"/"+r.SecretName)
	ctx = log.IntoContext(ctx, logger)

	current, set, err := r.readKeySet(ctx)
	if err != nil {
		return ctrl.Result{}, r.readFailed(ctx, current, err)
	}
	now := r.now()
	next, changed, due, err := keyset.Plan(set, now, r.Policy, jose.GenerateKey)
	if err != nil {
		signingKeyErrors.WithLabelValues(errorReasonPlan).Inc()
		logger.Error(err, "planning the signing keys failed")
		return ctrl.Result{}, fmt.Errorf("plan signing keys: %w", err)
	}
	if changed || !hasKeySetLabel(current) {
		err := r.write(ctx, current, set, next)
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			// Another writer changed the Secret after it was read. The next
			// reconcile plans from a fresh read, so this is no failure.
			logger.V(1).Info("signing-key Secret changed since it was read, planning again", "error", err.Error())
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		if err != nil {
			signingKeyErrors.WithLabelValues(errorReasonWrite).Inc()
			logger.Error(err, "writing the signing-key Secret failed")
			return ctrl.Result{}, err
		}
	}
	r.hadKeySet.Store(true)
	observeKeySet(next)
	return ctrl.Result{RequeueAfter: requeueDelay(due.Sub(now))}, nil
}

// requeueDelay returns the wait until a step that is delay away, at least
// one second so that a clock that disagrees with the plan cannot cause a
// tight loop, and at most maxSigningKeyRequeue.
func requeueDelay(delay time.Duration) time.Duration {
	return min(max(delay, time.Second), maxSigningKeyRequeue)
}

// readFailed logs and counts an error of readKeySet and returns the error
// for the queue to retry with back-off. For a Secret that holds an invalid
// key set it also records a Warning Event on that Secret.
func (r *SigningKeyReconciler) readFailed(ctx context.Context, current *corev1.Secret, err error) error {
	logger := log.FromContext(ctx)
	if !errors.Is(err, keyset.ErrInvalid) {
		signingKeyErrors.WithLabelValues(errorReasonRead).Inc()
		logger.Error(err, "reading the signing-key Secret failed")
		return err
	}
	signingKeyErrors.WithLabelValues(errorReasonInvalid).Inc()
	logger.Error(err, "invalid key set in the signing-key Secret; it stays unchanged until someone fixes or deletes it")
	r.Recorder.Eventf(current, nil, corev1.EventTypeWarning, "InvalidKeySet", "Validate",
		"%s is invalid, so the controller does not rotate keys; fix it or delete the Secret to create new keys: %v",
		keyset.SecretDataKey, err)
	return err
}

func (r *SigningKeyReconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}
