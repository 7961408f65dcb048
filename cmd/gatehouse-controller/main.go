package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/gatehouse-dev/gatehouse/controller"
	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// eventSource names the controller in the Events it records.
const eventSource = "gatehouse-controller"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the flags, runs the manager until ctx ends, and returns the
// process exit code: 0 after a clean stop, 1 on an error and 2 after -h.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) int {
	o, err := parseOptions(args, lookup, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err == nil {
		err = runManager(ctx, o, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse controller: %v\n", err)
		return 1
	}
	return 0
}

// runManager builds the manager with both reconcilers, the probes and the
// metrics server, and runs it until ctx ends.
func runManager(ctx context.Context, o *options, stderr io.Writer) error {
	log, err := o.log.NewLogger(stderr)
	if err != nil {
		return err
	}
	logger := logr.FromSlogHandler(log.Handler())
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)

	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	identity, lock, err := leaderLock(cfg, o)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, managerOptions(o, scheme, logger, lock))
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := addReconcilers(ctx, mgr, o); err != nil {
		return err
	}
	if err := addProbes(mgr); err != nil {
		return err
	}
	if lock != nil {
		if err := mgr.Add(leaderLog(log, o, identity)); err != nil {
			return fmt.Errorf("add leader log: %w", err)
		}
	}

	if o.policy.RetireAfter < minSafeRetireAfter {
		log.Warn("signing keys retire before the longest access token an OAuthClient may request expires; such tokens fail verification once their key is gone",
			"retireAfter", o.policy.RetireAfter.String(), "longestAccessToken", v1alpha1.MaxAccessTokenTTL.String())
	}
	log.Info("controller starting", "version", version, "namespace", o.namespace,
		"watchNamespaces", o.watchNamespaces, "leaderElection", lock != nil, "identity", identity,
		"healthListen", o.healthListen, "metricsListen", o.metricsListen)
	// NOTE: on SIGTERM a leader's manager (controller-runtime v0.25.3) logs
	// "error received after stop sequence was engaged" with "leader election
	// lost" at level ERROR, although it released the Lease and exits with 0.
	// The manager's stop sequence reports its own release of the Lease as
	// an error.
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("run manager: %w", err)
	}
	log.Info("controller stopped")
	return nil
}

// leaderLock returns this process's identity and its lock on the leader
// election Lease, or a nil lock when --leader-elect is false.
func leaderLock(cfg *rest.Config, o *options) (string, resourcelock.Interface, error) {
	identity, err := newIdentity()
	if err != nil || !o.leaderElect {
		return identity, nil, err
	}
	lock, err := newLeaseLock(cfg, o.namespace, o.leaderElectionID, identity)
	return identity, lock, err
}

// addReconcilers registers the OAuthClient and signing-key reconcilers.
func addReconcilers(ctx context.Context, mgr ctrl.Manager, o *options) error {
	clients := &controller.OAuthClientReconciler{
		Client:          mgr.GetClient(),
		APIReader:       mgr.GetAPIReader(),
		Scheme:          mgr.GetScheme(),
		Namespace:       o.namespace,
		WatchNamespaces: o.watchNamespaces,
		Workers:         o.workers,
		IssuerURL:       o.issuerURL,
		TokenURL:        o.tokenURL,
		Recorder:        mgr.GetEventRecorder(eventSource),
	}
	if err := clients.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	keys := &controller.SigningKeyReconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Namespace:  o.namespace,
		SecretName: o.signingKeysSecret,
		Policy:     o.policy,
		Recorder:   mgr.GetEventRecorder(eventSource),
	}
	return keys.SetupWithManager(ctx, mgr)
}

// leaderLog returns a runnable that the manager starts once this process
// holds the Lease, and that logs the fact.
func leaderLog(log *slog.Logger, o *options, identity string) manager.RunnableFunc {
	return func(ctx context.Context) error {
		log.Info("elected leader", "lease", o.namespace+"/"+o.leaderElectionID, "identity", identity)
		<-ctx.Done()
		return nil
	}
}
