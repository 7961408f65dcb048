package extauthz

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics holds the counters of a Server with every label combination
// resolved once, so that counting a decision is one atomic add.
type metrics struct {
	decisions [reasonCount]prometheus.Counter
	refresh   *prometheus.CounterVec
	feedUp    *prometheus.GaugeVec
	revoked   *prometheus.GaugeVec
}

// refreshCounters are the key refresh counters of one issuer.
type refreshCounters struct {
	success prometheus.Counter
	failure prometheus.Counter
}

// newMetrics creates the counters and registers them with reg when reg is
// not nil. Unregistered counters still count, which keeps the hot path free
// of nil checks.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_extauthz_decisions_total",
		Help: "Authorization decisions by result (allow or deny) and reason.",
	}, []string{"result", "reason"})
	refresh := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_extauthz_jwks_refresh_total",
		Help: "Key set loads by issuer and result (success or failure).",
	}, []string{"issuer", "result"})
	feedUp := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gatehouse_extauthz_revocation_feed_connected",
		Help: "1 while the revocation feed of the issuer is connected and caught up, else 0.",
	}, []string{"issuer"})
	revoked := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gatehouse_extauthz_revocations",
		Help: "Revocations held in memory, by issuer.",
	}, []string{"issuer"})
	if reg != nil {
		var err error
		if decisions, err = register(reg, decisions); err != nil {
			return nil, err
		}
		if refresh, err = register(reg, refresh); err != nil {
			return nil, err
		}
		if feedUp, err = register(reg, feedUp); err != nil {
			return nil, err
		}
		if revoked, err = register(reg, revoked); err != nil {
			return nil, err
		}
	}
	m := &metrics{refresh: refresh, feedUp: feedUp, revoked: revoked}
	for r := range reasonCount {
		result := "deny"
		if r.allowed() {
			result = "allow"
		}
		m.decisions[r] = decisions.WithLabelValues(result, r.info().label)
	}
	return m, nil
}

// register registers cv. When an identical collector is already registered,
// as with a second Server in one process, it returns that one instead.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("register metrics: %w", err)
}

func (m *metrics) forIssuer(issuer string) refreshCounters {
	return refreshCounters{
		success: m.refresh.WithLabelValues(issuer, "success"),
		failure: m.refresh.WithLabelValues(issuer, "failure"),
	}
}
