package extauthz

import (
	"context"
	"log/slog"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/scope"
)

// ScopesExtension is the Envoy context extension that names extra required
// scopes for a route, space-separated. A request needs all of them on top of
// the scopes of its rule.
const ScopesExtension = "gatehouse.scopes"

// checkInput is the part of a request that a decision reads, taken from a
// CheckRequest or an HTTP request without copying.
type checkInput struct {
	host   string
	method string
	// path may carry the query, which rules and logs ignore.
	path string
	// authorization is the value of the first Authorization header and
	// authorizationCount the number of such headers.
	authorization      string
	authorizationCount int
	// extensionScopes is the ScopesExtension value.
	extensionScopes string
}

// decision is the outcome of a check.
type decision struct {
	reason reason
	// token is the verified token of an allow with identity.
	token *verifiedToken
	// requiredScopes is the scope attribute of an insufficient_scope denial.
	requiredScopes string
}

// decide applies the route's requirements to the request's credential.
func (s *Server) decide(ctx context.Context, in *checkInput) decision {
	rt := s.routes.match(in.host, in.method, in.path)
	token, cred := parseAuthorization(in.authorization, in.authorizationCount)
	switch cred {
	case credentialMalformed:
		return decision{reason: reasonMalformedHeader}
	case credentialMultiple:
		return decision{reason: reasonMultipleCredentials}
	case credentialNone:
		// Extension scopes turn an anonymous rule into one that needs a
		// token, because no scope can be granted without one.
		if rt.anonymous && in.extensionScopes == "" {
			return decision{reason: reasonAllowAnonymous}
		}
		return decision{reason: reasonMissingToken}
	}
	vt, r := s.authenticate(ctx, token)
	if vt == nil {
		return decision{reason: r}
	}
	return s.authorize(ctx, rt, vt, in.extensionScopes)
}

// authorize checks a verified token against the route's audiences and scopes.
func (s *Server) authorize(ctx context.Context, rt *route, vt *verifiedToken, extension string) decision {
	if len(rt.audiences) > 0 && !anyAudience(vt.audiences, rt.audiences) {
		return decision{reason: reasonInvalidAudience}
	}
	if !scope.Subset(rt.scopes, vt.scopes) {
		return decision{reason: reasonInsufficientScope, requiredScopes: requiredScopes(rt.scopes, extension)}
	}
	if extension == "" {
		return decision{reason: reasonAllowToken, token: vt}
	}
	return s.authorizeExtension(ctx, rt, vt, extension)
}

// authorizeExtension checks the scopes of the ScopesExtension.
func (s *Server) authorizeExtension(ctx context.Context, rt *route, vt *verifiedToken, extension string) decision {
	for ext := range strings.FieldsSeq(extension) {
		if !scope.Valid(ext) {
			s.log.LogAttrs(ctx, slog.LevelError, "invalid scope in route context extension",
				slog.String("extension", ScopesExtension), slog.String("scope", ext))
			return decision{reason: reasonInternal}
		}
		if !scope.Contains(vt.scopes, ext) {
			return decision{reason: reasonInsufficientScope, requiredScopes: requiredScopes(rt.scopes, extension)}
		}
	}
	return decision{reason: reasonAllowToken, token: vt}
}

// requiredScopes joins the rule's scopes and the extension scopes without
// duplicates, for the scope attribute of the challenge.
func requiredScopes(ruleScopes []string, extension string) string {
	all := append([]string(nil), ruleScopes...)
	for ext := range strings.FieldsSeq(extension) {
		if scope.Valid(ext) && !scope.Contains(all, ext) {
			all = append(all, ext)
		}
	}
	return scope.Join(all)
}

// record counts the decision and logs a denial at debug level. It never
// logs the token or the Authorization header.
func (s *Server) record(ctx context.Context, in *checkInput, r reason) {
	s.metrics.decisions[r].Inc()
	if !r.allowed() && s.log.Enabled(ctx, slog.LevelDebug) {
		s.logDenial(ctx, in, r)
	}
}

// logDenial is apart from record so that the attributes it builds do not
// enlarge the stack frame of every check. A check runs on a fresh gRPC
// goroutine, and a deeper stack costs it a stack copy.
//
//go:noinline
func (s *Server) logDenial(ctx context.Context, in *checkInput, r reason) {
	s.log.LogAttrs(ctx, slog.LevelDebug, "request denied",
		slog.String("reason", r.info().label),
		slog.String("method", in.method),
		slog.String("host", in.host),
		slog.String("path", pathWithoutQuery(in.path)))
}

func pathWithoutQuery(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}
