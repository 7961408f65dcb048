package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
)

// FieldManager is the server-side apply field manager of every Secret that
// the controller writes.
const FieldManager = "gatehouse-controller"

// RegistrationFinalizer keeps an OAuthClient until the controller has
// deleted its registration Secret, which lives in another namespace and so
// cannot carry an owner reference to it.
const RegistrationFinalizer = "gatehouse.dev/registration"

// credentialsSecretIndex is the field index of OAuthClients by the name of
// their credentials Secret, so that a change to any Secret finds the
// resource that wants that name.
const credentialsSecretIndex = "gatehouse.dev/credentialsSecretName"

// OAuthClientReconciler turns each OAuthClient into a credentials Secret in
// the resource's namespace and a registration Secret in Gatehouse's
// namespace, and reports the outcome in the resource's status.
type OAuthClientReconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads past the cache. It confirms that a credentials Secret
	// is really missing before a new client secret replaces it. When nil,
	// SetupWithManager sets it to the manager's API reader.
	APIReader client.Reader
	// Scheme maps Go types to API kinds for owner references.
	Scheme *runtime.Scheme
	// Namespace is Gatehouse's own namespace, which holds the registration
	// Secrets that the issuer reads.
	Namespace string
	// WatchNamespaces are the namespaces whose OAuthClients the reconciler
	// handles, or all namespaces when empty. The manager's cache must hold
	// OAuthClients in these namespaces, and Secrets in these and Namespace.
	WatchNamespaces []string
	// Workers is how many OAuthClients are reconciled at the same time.
	// Zero means one.
	Workers int
	// IssuerURL is written into each credentials Secret as "issuer".
	IssuerURL string
	// TokenURL is written into each credentials Secret as "token_url".
	TokenURL string
	// Recorder records Events on the OAuthClient.
	Recorder events.EventRecorder
	// Now returns the current time, which decides when a client secret
	// rotates and when the previous one retires. When nil, the reconciler
	// uses time.Now.
	Now func() time.Time
}

// SetupWithManager registers the reconciler with mgr. It watches
// OAuthClients, the credentials Secrets that they own, any Secret whose name
// an OAuthClient wants (so a conflict clears when that Secret goes away),
// and the registration Secrets in Namespace, which it maps back through
// their annotations.
func (r *OAuthClientReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.OAuthClient{}, credentialsSecretIndex, indexCredentialsSecret)
	if err != nil {
		return fmt.Errorf("index oauthclients by secret name: %w", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.OAuthClient{}).
		Owns(&corev1.Secret{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.requestsForSecret)).
		Named("oauthclient").
		WithOptions(crcontroller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up oauthclient controller: %w", err)
	}
	return nil
}

func indexCredentialsSecret(obj client.Object) []string {
	oc, ok := obj.(*v1alpha1.OAuthClient)
	if !ok {
		return nil
	}
	return []string{oc.CredentialsSecretName()}
}

// requestsForSecret maps a registration or escrow Secret to the
// OAuthClient named in its annotations, and any other Secret to the
// OAuthClients in its namespace that want its name as their credentials
// Secret.
func (r *OAuthClientReconciler) requestsForSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	labels := obj.GetLabels()
	if obj.GetNamespace() == r.Namespace && (labels[LabelRegistration] == RegistrationKindClient || labels[LabelEscrow] == EscrowKindClient) {
		return r.registrationRequest(obj)
	}
	if !r.watches(obj.GetNamespace()) {
		return nil
	}
	var list v1alpha1.OAuthClientList
	err := r.Client.List(ctx, &list, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{credentialsSecretIndex: obj.GetName()})
	if err != nil {
		log.FromContext(ctx).Error(err, "list oauthclients for secret failed", "secret", client.ObjectKeyFromObject(obj))
		return nil
	}
	requests := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return requests
}

// registrationRequest maps a registration or escrow Secret to its
// OAuthClient, unless that resource is in a namespace that the reconciler
// does not watch, such as when another controller instance handles it.
func (r *OAuthClientReconciler) registrationRequest(obj client.Object) []reconcile.Request {
	ns := obj.GetAnnotations()[AnnotationClientNamespace]
	name := obj.GetAnnotations()[AnnotationClientName]
	if ns == "" || name == "" || !r.watches(ns) {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: ns, Name: name}}}
}

// watches reports whether the reconciler handles OAuthClients in namespace.
func (r *OAuthClientReconciler) watches(namespace string) bool {
	return len(r.WatchNamespaces) == 0 || slices.Contains(r.WatchNamespaces, namespace)
}

// Reconcile brings the credentials and registration Secrets of one
// OAuthClient in line with its spec, or removes the registration when the
// resource is being deleted. It requeues the resource for the next step
// of secret rotation. A write that conflicts with a newer version of the
// resource is retried soon and not reported as a failure.
func (r *OAuthClientReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if !r.watches(req.Namespace) {
		// A credentials Secret in Gatehouse's own namespace, which the
		// cache holds, maps to an owner that the cache does not.
		log.FromContext(ctx).V(1).Info("oauthclient outside the watched namespaces, skipped")
		return ctrl.Result{}, nil
	}
	result, err := r.reconcile(ctx, req)
	if apierrors.IsConflict(err) {
		log.FromContext(ctx).V(1).Info("oauthclient changed since it was read, reconciling again", "error", err.Error())
		return ctrl.Result{RequeueAfter: conflictRetryDelay}, nil
	}
	return result, err
}

// conflictRetryDelay is the wait before a reconcile whose write conflicted
// runs again.
const conflictRetryDelay = time.Second

func (r *OAuthClientReconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	oc := &v1alpha1.OAuthClient{}
	if err := r.Client.Get(ctx, req.NamespacedName, oc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !oc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, oc)
	}
	if err := r.ensureFinalizer(ctx, oc); err != nil {
		return ctrl.Result{}, err
	}

	state, provisionErr := r.provision(ctx, oc)
	if err := r.updateStatus(ctx, oc, state, provisionErr); err != nil {
		return ctrl.Result{}, errors.Join(provisionErr, err)
	}
	if provisionErr != nil {
		return ctrl.Result{}, resultError(provisionErr)
	}
	return ctrl.Result{RequeueAfter: r.requeueAfter(state.next)}, nil
}

// requeueAfter returns the delay until next, the time of the next rotation
// step, or 0 when nothing is scheduled. A step already due waits one
// second, so that a clock that disagrees with the API server cannot cause
// a tight loop.
func (r *OAuthClientReconciler) requeueAfter(next time.Time) time.Duration {
	if next.IsZero() {
		return 0
	}
	return max(next.Sub(r.now()), time.Second)
}

// resultError turns a provisioning outcome into the error that the
// controller-runtime queue acts on. A spec problem or a Secret conflict is
// terminal, because retrying cannot fix it before the resource or the
// Secret changes. Both changes trigger a new reconcile through the watches.
func resultError(err error) error {
	var failure *provisionError
	if errors.As(err, &failure) && failure.terminal {
		return reconcile.TerminalError(err)
	}
	return err
}

// ensureFinalizer adds RegistrationFinalizer to oc with a merge patch that
// carries only the finalizers. An Update would send the whole object, so
// the API server would count the controller as a manager of every spec
// field whose Go form differs from the stored one, such as "10m" that Go
// writes as "10m0s". It would then bump the generation, and a later
// server-side apply of the spec by its real owner would fail with a
// conflict. The resourceVersion in the patch keeps a finalizer that
// someone else added at the same moment.
func (r *OAuthClientReconciler) ensureFinalizer(ctx context.Context, oc *v1alpha1.OAuthClient) error {
	base := oc.DeepCopy()
	if !controllerutil.AddFinalizer(oc, RegistrationFinalizer) {
		return nil
	}
	if err := r.patchFinalizers(ctx, oc, base); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	return nil
}

func (r *OAuthClientReconciler) patchFinalizers(ctx context.Context, oc, base *v1alpha1.OAuthClient) error {
	patch := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
	return r.Client.Patch(ctx, oc, patch, client.FieldOwner(FieldManager))
}

// finalize deletes the registration and escrow Secrets and then releases
// the resource. The credentials Secret carries an owner reference, so the
// garbage collector deletes it. A resource that is already gone, as seen
// by a reconcile that read it from a cache that lags, needs nothing more.
func (r *OAuthClientReconciler) finalize(ctx context.Context, oc *v1alpha1.OAuthClient) error {
	if !controllerutil.ContainsFinalizer(oc, RegistrationFinalizer) {
		return nil
	}
	names := []string{RegistrationSecretName(oc.Namespace, oc.Name), EscrowSecretName(oc.Namespace, oc.Name)}
	for _, name := range names {
		s := &corev1.Secret{}
		s.Namespace, s.Name = r.Namespace, name
		if err := r.Client.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete secret %s/%s: %w", r.Namespace, name, err)
		}
	}
	base := oc.DeepCopy()
	controllerutil.RemoveFinalizer(oc, RegistrationFinalizer)
	err := r.patchFinalizers(ctx, oc, base)
	if apierrors.IsNotFound(err) {
		log.FromContext(ctx).V(1).Info("oauthclient already gone, finalizer needs no removal")
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	log.FromContext(ctx).Info("registration removed", "registrationSecret", names[0], "escrowSecret", names[1])
	return nil
}
