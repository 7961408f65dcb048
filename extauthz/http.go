package extauthz

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// envoyHeadersToRemove is the response header in which an HTTP
// authorization service lists the request headers that Envoy removes.
const envoyHeadersToRemove = "X-Envoy-Auth-Headers-To-Remove"

// HTTP check server timeouts used by NewHTTPServer.
const (
	HTTPReadHeaderTimeout = 5 * time.Second
	HTTPIdleTimeout       = 2 * time.Minute
)

// HTTPHandler returns the HTTP check endpoint. Every method and path is a
// check of the original request, which it finds as follows:
//
//   - URI: X-Original-URI (nginx auth_request), else X-Forwarded-Uri
//     (Traefik forwardAuth), else the request's own URI (Envoy's HTTP mode);
//   - method: X-Original-Method, else X-Forwarded-Method, else the
//     request's method;
//   - host: X-Forwarded-Host, else Host.
//
// An allow is 200 with the identity headers, plus X-Envoy-Auth-Headers-To-Remove
// listing the identity headers that Envoy must strip. A denial is 400, 401,
// 403 (with WWW-Authenticate), 431, 500 or 503 with a short text body. The
// request body is never read.
func (s *Server) HTTPHandler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// NewHTTPServer returns an http.Server for the check endpoint with header
// size and timeout limits set. The caller starts and stops it.
func (s *Server) NewHTTPServer(addr string, baseContext func(net.Listener) context.Context) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.HTTPHandler(),
		ReadHeaderTimeout: HTTPReadHeaderTimeout,
		IdleTimeout:       HTTPIdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		BaseContext:       baseContext,
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	defer func() {
		if p := recover(); p != nil {
			s.recordPanic(ctx, p)
			writeDenial(w, s.denials[reasonInternal])
		}
	}()
	var in checkInput
	readHTTPInput(r, &in)
	d := decision{reason: reasonHeadersTooLarge}
	if headerBytes(r) <= MaxHeaderBytes {
		d = s.decide(ctx, &in)
	}
	s.record(ctx, &in, d.reason)
	s.writeHTTP(w, r, d)
}

func readHTTPInput(r *http.Request, in *checkInput) {
	h := r.Header
	in.path = firstNonEmpty(h.Get("X-Original-URI"), h.Get("X-Forwarded-Uri"), r.URL.RequestURI())
	in.method = firstNonEmpty(h.Get("X-Original-Method"), h.Get("X-Forwarded-Method"), r.Method)
	in.host = firstNonEmpty(h.Get("X-Forwarded-Host"), r.Host)
	values := h["Authorization"]
	in.authorizationCount = len(values)
	if len(values) > 0 {
		in.authorization = values[0]
	}
}

// headerBytes estimates the size of the request line and headers as
// net/http counts them against MaxHeaderBytes.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host)
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + len(v) + 4 // ": " and CRLF
		}
	}
	return n
}

func (s *Server) writeHTTP(w http.ResponseWriter, r *http.Request, d decision) {
	switch d.reason {
	case reasonAllowToken:
		h := w.Header()
		for _, ih := range d.token.httpHeaders {
			h[ih.name] = ih.values
		}
		s.setHTTPRemovals(h, r.Header, d.token.setNames, d.token.unsetNames, d.token.unsetText)
		w.WriteHeader(http.StatusOK)
	case reasonAllowAnonymous:
		s.setHTTPRemovals(w.Header(), r.Header, nil, s.identityNames, s.anonymousOK.removeText)
		w.WriteHeader(http.StatusOK)
	default:
		writeDenial(w, s.denialFor(d))
	}
}

// setHTTPRemovals sets X-Envoy-Auth-Headers-To-Remove to the identity
// names left unset plus the client-sent identity headers that are neither
// set nor unset. Envoy's HTTP mode forwards only some request headers to the
// check, so the unset names are listed whether the client sent them or not.
func (s *Server) setHTTPRemovals(out, in http.Header, set, unset []string, unsetText string) {
	var extra []string
	for name := range in {
		extra = s.appendRemoval(extra, name, set, unset)
	}
	value := unsetText
	if len(extra) > 0 {
		value = strings.Join(append(slices.Clip(unset), extra...), ", ")
	}
	if value != "" {
		out[envoyHeadersToRemove] = []string{value}
	}
}

func writeDenial(w http.ResponseWriter, d *denial) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Cache-Control"] = []string{"no-store"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	if d.challenge != nil {
		h["Www-Authenticate"] = d.challenge
	}
	w.WriteHeader(d.status)
	_, _ = io.WriteString(w, d.body)
}
