package controller

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestReconcileSkipsUnwatchedNamespace checks that a request for an
// OAuthClient outside WatchNamespaces reads nothing and returns no error:
// the scoped cache cannot serve it, and an error would retry forever.
func TestReconcileSkipsUnwatchedNamespace(t *testing.T) {
	reads := 0
	c := fake.NewClientBuilder().WithScheme(newScheme(t)).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			reads++
			return c.Get(ctx, key, obj, opts...)
		},
	}).Build()
	r := &OAuthClientReconciler{Client: c, APIReader: c, Namespace: "gatehouse", WatchNamespaces: []string{"orders"}}

	req := reconcile.Request{NamespacedName: client.ObjectKey{Namespace: "gatehouse", Name: "first-client"}}
	result, err := r.Reconcile(t.Context(), req)
	if err != nil {
		t.Errorf("Reconcile in an unwatched namespace: got error %v, want nil", err)
	}
	if result != (reconcile.Result{}) {
		t.Errorf("Reconcile in an unwatched namespace: got %+v, want an empty result", result)
	}
	if reads != 0 {
		t.Errorf("Reconcile in an unwatched namespace read %d objects, want 0", reads)
	}

	req.Namespace = "orders"
	if _, err := r.Reconcile(t.Context(), req); err != nil {
		t.Errorf("Reconcile of a missing OAuthClient in a watched namespace: got error %v, want nil", err)
	}
	if reads == 0 {
		t.Error("Reconcile in a watched namespace read nothing, want a read of the OAuthClient")
	}
}
