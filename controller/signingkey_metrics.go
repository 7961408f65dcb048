package controller

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/gatehouse-dev/gatehouse/internal/keyset"
)

// Values of the reason label of signingKeyErrors.
const (
	errorReasonInvalid = "invalid_key_set"
	errorReasonRead    = "read_failed"
	errorReasonPlan    = "plan_failed"
	errorReasonWrite   = "write_failed"
)

var (
	signingKeys = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gatehouse_controller_signing_keys",
		Help: "Keys in the signing-key Secret by state (next, active, retiring), as last read or written by the controller.",
	}, []string{"state"})
	signingKeyRotations = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_controller_signing_key_rotations_total",
		Help: "Rotations in which a next signing key became the active one.",
	})
	signingKeyErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_controller_signing_key_errors_total",
		Help: "Failed reconciles of the signing-key Secret by reason: invalid_key_set, read_failed, plan_failed or write_failed.",
	}, []string{"reason"})

	registerSigningKeyMetricsOnce sync.Once
)

// registerSigningKeyMetrics adds the signing-key metrics to
// controller-runtime's registry, which the manager serves on /metrics. It
// registers once per process, because several managers may run in one test
// binary.
func registerSigningKeyMetrics() {
	registerSigningKeyMetricsOnce.Do(func() {
		metrics.Registry.MustRegister(signingKeys, signingKeyRotations, signingKeyErrors)
		for _, reason := range []string{errorReasonInvalid, errorReasonRead, errorReasonPlan, errorReasonWrite} {
			signingKeyErrors.WithLabelValues(reason)
		}
	})
}

// observeKeySet sets the gauge of keys by state from set.
func observeKeySet(set *keyset.Set) {
	for _, state := range []keyset.State{keyset.StateNext, keyset.StateActive, keyset.StateRetiring} {
		signingKeys.WithLabelValues(string(state)).Set(float64(set.Count(state)))
	}
}
