package serve

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness is the state /readyz reports: whether a process can take
// traffic, and warnings about what is degraded while it still can, one line
// of /readyz each.
type Readiness struct {
	Ready    func() bool
	Warnings func() []string
}

// AdminHandler serves /healthz (the process is up), /readyz (200 while
// r.Ready reports true, with r.Warnings below "ok") and /metrics (gatherer
// in the Prometheus text format).
func AdminHandler(gatherer prometheus.Gatherer, r Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writePlain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if r.Ready != nil && !r.Ready() {
			writePlain(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		body := "ok\n"
		if r.Warnings != nil {
			for _, warning := range r.Warnings() {
				body += "warning: " + warning + "\n"
			}
		}
		writePlain(w, http.StatusOK, body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}

func writePlain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
