package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
)

// Leader election timing, the same as controller-runtime's defaults. A
// standby takes over within retryPeriod after the leader releases the
// Lease on shutdown, and within leaseDuration after a leader crashes.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// gracefulShutdownTimeout bounds how long the manager waits for running
// reconciles after SIGTERM. Releasing the Lease afterwards takes at most
// renewDeadline, and both together stay below the 30s default of a pod's
// terminationGracePeriodSeconds.
const gracefulShutdownTimeout = 15 * time.Second

// readinessSyncWait is how long one /readyz request waits for the informer
// cache to sync before it fails.
const readinessSyncWait = time.Second

// restConfig loads the API server configuration from the kubeconfig file,
// or from the pod's service account when kubeconfig is empty.
func restConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := loadRESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	// Like controller-runtime's own loader, turn client-side rate limiting
	// off and rely on the API server's priority and fairness.
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	cfg.UserAgent = "gatehouse-controller/" + version
	return cfg, nil
}

func loadRESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("load --kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("load the in-cluster configuration (outside a pod, set --kubeconfig): %w", err)
	}
	return cfg, nil
}

// newScheme returns a scheme with the kinds the controller reads and
// writes: Secrets from the core group, and OAuthClients.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add core/v1 to scheme: %w", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add gatehouse.dev/v1alpha1 to scheme: %w", err)
	}
	return s, nil
}

// managerOptions returns the manager's options for o. lock is nil when
// leader election is off. Releasing the Lease when the manager stops is safe
// only because the process exits right after, which main does.
func managerOptions(o *options, scheme *runtime.Scheme, logger logr.Logger, lock resourcelock.Interface) ctrl.Options {
	return ctrl.Options{
		Scheme:                              scheme,
		Logger:                              logger,
		Cache:                               cacheOptions(o),
		Metrics:                             metricsserver.Options{BindAddress: o.metricsListen},
		HealthProbeBindAddress:              o.healthListen,
		LeaderElection:                      lock != nil,
		LeaderElectionID:                    o.leaderElectionID,
		LeaderElectionNamespace:             o.namespace,
		LeaderElectionResourceLockInterface: lock,
		LeaderElectionReleaseOnCancel:       true,
		LeaseDuration:                       new(leaseDuration),
		RenewDeadline:                       new(renewDeadline),
		RetryPeriod:                         new(retryPeriod),
		GracefulShutdownTimeout:             new(gracefulShutdownTimeout),
	}
}

// cacheOptions limits the informer cache to the namespaces that the
// controller works in. OAuthClients are cached in --watch-namespaces only.
// Secrets are cached there too, for the credentials Secrets, and in
// --namespace, for the registration and signing-key Secrets. An empty
// --watch-namespaces caches every namespace.
//
// NOTE: the cache scope is not an RBAC boundary. The generated ClusterRole
// (config/rbac/role.yaml) still grants Secrets in every namespace. To
// confine the controller, bind that ClusterRole with a RoleBinding in each
// watched namespace and in --namespace instead of a ClusterRoleBinding.
func cacheOptions(o *options) cache.Options {
	if len(o.watchNamespaces) == 0 {
		return cache.Options{}
	}
	secrets := map[string]cache.Config{o.namespace: {}}
	oauthClients := map[string]cache.Config{}
	for _, ns := range o.watchNamespaces {
		secrets[ns] = cache.Config{}
		oauthClients[ns] = cache.Config{}
	}
	return cache.Options{
		DefaultNamespaces: secrets,
		ByObject: map[client.Object]cache.ByObject{
			&v1alpha1.OAuthClient{}: {Namespaces: oauthClients},
		},
	}
}

// newIdentity returns this process's leader election identity: the host
// name, which is the pod name in a pod, and a random UUID, so that two
// processes on one host differ.
func newIdentity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("read host name for the leader election identity: %w", err)
	}
	return host + "_" + string(uuid.NewUUID()), nil
}

// newLeaseLock returns the leader election lock on the Lease namespace/name
// held as identity. The manager would build the same lock itself, but
// building it here lets the controller log the identity it holds the Lease
// with.
func newLeaseLock(cfg *rest.Config, namespace, name, identity string) (resourcelock.Interface, error) {
	cfg = rest.CopyConfig(cfg)
	// One slow request must not use up the renew deadline and cost the
	// leadership.
	cfg.Timeout = renewDeadline / 2
	leases, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create the leader election client: %w", err)
	}
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: namespace, Name: name},
		Client:     leases,
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}, nil
}

// addProbes adds the liveness check, which passes while the process
// serves, and the readiness checks, which also need the informer cache to
// have synced.
//
// A standby replica that waits for the Lease reports ready once its cache
// has synced, because it can take over at once. Readiness only gates
// rollouts here (no Service sends traffic to the controller), and a rolling
// update would stall if standbys were never ready.
func addProbes(mgr ctrl.Manager) error {
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("add liveness check: %w", err)
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}
	if err := mgr.AddReadyzCheck("informers", cacheSynced(mgr.GetCache())); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}
	return nil
}

// cacheSynced returns a check that fails until every informer of c has
// synced.
func cacheSynced(c cache.Cache) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), readinessSyncWait)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("informer cache has not synced")
		}
		return nil
	}
}
