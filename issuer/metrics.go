package issuer

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the issuer's Prometheus metrics. A nil *metrics records
// nothing.
type metrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	// management counts introspection and revocation requests.
	management *prometheus.CounterVec
	// lockouts counts new locks by key kind, and locked the attempts
	// rejected because of a lock.
	lockouts *prometheus.CounterVec
	locked   prometheus.Counter
}

// newMetrics registers the metrics with reg, or returns nil when reg is nil.
// Labels are the grant type or endpoint and the result, never a client,
// user or token.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_issuer_token_requests_total",
			Help: "Token endpoint requests by grant type and result: issued, or the OAuth 2.0 error code.",
		}, []string{"grant_type", "result"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_issuer_token_request_seconds",
			Help:    "Time to answer a token endpoint request, in seconds, by grant type.",
			Buckets: prometheus.DefBuckets,
		}, []string{"grant_type"}),
		management: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_issuer_token_management_requests_total",
			Help: "Introspection and revocation requests by endpoint and result: active, inactive, revoked, ignored, or the OAuth 2.0 error code.",
		}, []string{"endpoint", "result"}),
	}
	m.lockouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_issuer_lockouts_total",
		Help: "Usernames or client addresses locked after repeated password failures, by key (username or address).",
	}, []string{"key"})
	m.locked = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_issuer_locked_attempts_total",
		Help: "Password grants rejected because the username or client address was locked.",
	})
	for _, c := range []prometheus.Collector{m.requests, m.seconds, m.management, m.lockouts, m.locked} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register issuer metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(grantType, result string, elapsed time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(grantType, result).Inc()
	m.seconds.WithLabelValues(grantType).Observe(elapsed.Seconds())
}

func (m *metrics) countManagement(endpoint, result string) {
	if m == nil {
		return
	}
	m.management.WithLabelValues(endpoint, result).Inc()
}

func (m *metrics) countLockout(key string) {
	if m == nil {
		return
	}
	m.lockouts.WithLabelValues(key).Inc()
}

func (m *metrics) countLocked() {
	if m == nil {
		return
	}
	m.locked.Inc()
}
