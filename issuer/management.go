package issuer

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// Names of the introspection and revocation endpoints, used in error
// descriptions, log lines and metric labels.
const (
	endpointIntrospection = "introspection"
	endpointRevocation    = "revocation"
)

// managementRequest is an authenticated introspection (RFC 7662) or
// revocation (RFC 7009) request.
type managementRequest struct {
	client clients.Client
	// token is the "token" parameter.
	token string
}

// managementOutcome is the result of one introspection or revocation
// request, with what the log and metrics need.
type managementOutcome struct {
	// clientID is the client ID the request presented, authenticated or not.
	clientID string
	// result is the metric label of a request without err, such as
	// "active" or "revoked".
	result string
	// reason explains result in the debug log, such as "expired".
	reason string
	err    *tokenError
}

// readManagementRequest checks the method, parses the form, authenticates
// the client like the token endpoint does and requires the "token"
// parameter. It returns the presented client ID even on failure, for the
// log.
//
// The "token_type_hint" parameter is accepted and not read. An access token
// is a JWT and a refresh token has no dot, so the token's format determines
// which store to search. RFC 7662 §2.1 lets a server that detects the type
// itself ignore the hint.
func (s *Server) readManagementRequest(r *http.Request, endpoint string) (managementRequest, string, *tokenError) {
	if r.Method != http.MethodPost {
		return managementRequest{}, "", errMethodNotAllowed(endpoint)
	}
	form, terr := parseTokenForm(r)
	if terr != nil {
		return managementRequest{}, "", terr
	}
	presented, terr := readClientCredentials(r, form)
	if terr != nil {
		return managementRequest{}, form["client_id"], terr
	}
	client, terr := s.authenticateClient(presented)
	if terr != nil {
		return managementRequest{}, presented.id, terr
	}
	token := form["token"]
	if token == "" {
		return managementRequest{}, presented.id, errInvalidRequest("missing token")
	}
	return managementRequest{client: client, token: token}, presented.id, nil
}

// recordManagement logs an introspection or revocation request and counts
// it. Like record, it logs only the fields named here and never the token.
func (s *Server) recordManagement(ctx context.Context, endpoint string, out managementOutcome) {
	attrs := []slog.Attr{
		slog.String("endpoint", endpoint),
		slog.String("clientID", truncate(out.clientID, maxLoggedClientIDBytes)),
	}
	if out.err == nil {
		s.metrics.countManagement(endpoint, out.result)
		attrs = append(attrs, slog.String("result", out.result))
		if out.reason != "" {
			attrs = append(attrs, slog.String("reason", out.reason))
		}
		s.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "token management request done", attrs...)
		return
	}
	s.metrics.countManagement(endpoint, out.err.code)
	attrs = append(attrs, slog.String("error", out.err.code), slog.String("reason", out.err.reason))
	if out.err.cause != nil {
		attrs = append(attrs, slog.Any("cause", out.err.cause))
	}
	s.cfg.Logger.LogAttrs(ctx, logLevel(out.err.code), "token management request failed", attrs...)
}
