package issuer

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// maxLoggedClientIDBytes bounds the client ID in log lines, because a
// failed request may present any string as its client ID.
const maxLoggedClientIDBytes = 255

// tokenOutcome is the result of one token request, with what the log and
// metrics need.
type tokenOutcome struct {
	// grantType is the request's grant_type, or "" when it has none.
	grantType string
	// clientID is the client ID the request presented, authenticated or not.
	clientID string
	resp     *tokenResponse
	err      *tokenError
}

// serveToken is the token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	out := s.handleTokenRequest(r)
	if out.err != nil {
		s.writeTokenError(w, out.err)
	} else {
		writeTokenResponse(w, out.resp)
	}
	s.record(r.Context(), out, time.Since(start))
}

func (s *Server) handleTokenRequest(r *http.Request) tokenOutcome {
	if r.Method != http.MethodPost {
		return tokenOutcome{err: errMethodNotAllowed("token")}
	}
	form, terr := parseTokenForm(r)
	if terr != nil {
		return tokenOutcome{err: terr}
	}
	out := tokenOutcome{grantType: form["grant_type"], clientID: form["client_id"]}
	if s.keys.SigningKeys() == nil {
		// Checked before any grant runs, so that no refresh token is
		// used up by a request that cannot get an access token.
		out.err = errNoSigningKeys()
		return out
	}
	presented, terr := readClientCredentials(r, form)
	if terr != nil {
		out.err = terr
		return out
	}
	out.clientID = presented.id
	client, terr := s.authenticateClient(presented)
	if terr != nil {
		out.err = terr
		return out
	}
	out.resp, out.err = s.runGrant(withClientAddress(r, s.cfg.TrustedProxies), client, form)
	return out
}

// runGrant dispatches an authenticated request to its grant type.
func (s *Server) runGrant(ctx context.Context, client clients.Client, form tokenForm) (*tokenResponse, *tokenError) {
	grantType := clients.GrantType(form["grant_type"])
	if grantType == "" {
		return nil, errInvalidRequest("missing grant_type")
	}
	handler, ok := s.grants[grantType]
	if !ok {
		return nil, errUnsupportedGrantType()
	}
	if !client.AllowsGrant(grantType) {
		return nil, errUnauthorizedClient("client is not allowed to use grant_type " + string(grantType))
	}
	return handler(ctx, client, form)
}

func writeTokenResponse(w http.ResponseWriter, resp *tokenResponse) {
	setTokenHeaders(w.Header())
	body, _ := json.Marshal(resp)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// record logs a failed request and updates the metrics. It never logs the
// request's secrets, password or tokens, only the fields named here.
func (s *Server) record(ctx context.Context, out tokenOutcome, elapsed time.Duration) {
	grantLabel := grantTypeLabel(out.grantType)
	if out.err == nil {
		s.metrics.observe(grantLabel, "issued", elapsed)
		s.cfg.Logger.DebugContext(ctx, "token issued", "grantType", grantLabel, "clientID", out.clientID)
		return
	}
	s.metrics.observe(grantLabel, out.err.code, elapsed)
	attrs := []slog.Attr{
		slog.String("grantType", grantLabel),
		slog.String("clientID", truncate(out.clientID, maxLoggedClientIDBytes)),
		slog.String("error", out.err.code),
		slog.String("reason", out.err.reason),
	}
	if out.err.cause != nil {
		attrs = append(attrs, slog.Any("cause", out.err.cause))
	}
	s.cfg.Logger.LogAttrs(ctx, logLevel(out.err.code), "token request failed", attrs...)
}

// logLevel returns Warn for failures that may be an attack on credentials,
// Error for the issuer's own failures and Info for malformed requests.
func logLevel(code string) slog.Level {
	switch code {
	case codeInvalidClient, codeInvalidGrant:
		return slog.LevelWarn
	case codeServerError, codeTemporarilyUnavailable:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// grantTypeLabel maps a request's grant_type to a bounded set of values,
// so that clients cannot create metric series or log noise at will.
func grantTypeLabel(grantType string) string {
	switch clients.GrantType(grantType) {
	case clients.GrantPassword, clients.GrantClientCredentials, clients.GrantRefreshToken:
		return grantType
	case "":
		return "none"
	}
	return "unsupported"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
