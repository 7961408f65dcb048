package extauthz

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
)

// Register registers the envoy.service.auth.v3.Authorization service on g.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	authv3.RegisterAuthorizationServer(g, authorizationService{s: s})
}

type authorizationService struct {
	authv3.UnimplementedAuthorizationServer
	s *Server
}

// Check sends the pre-encoded form of the prebuilt responses, which saves
// marshalling them on every call.
func (a authorizationService) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return a.s.check(ctx, req, true)
}

// Check decides one request. Every failure, a panic included, is a deny
// response with a nil error: Envoy's failure_mode_allow would let a request
// through on an RPC error, so Check never returns one.
//
// Allow responses use the status code OK. Denials use UNAUTHENTICATED for
// 401 and PERMISSION_DENIED for every other status. The returned response
// may be shared with other calls and must not be modified.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return s.check(ctx, req, false)
}

// check implements Check. wire selects the pre-encoded form of prebuilt
// responses.
func (s *Server) check(ctx context.Context, req *authv3.CheckRequest, wire bool) (resp *authv3.CheckResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.recordPanic(ctx, p)
			resp, err = s.denials[reasonInternal].grpc.get(wire), nil
		}
	}()
	attrs := req.GetAttributes()
	httpReq := attrs.GetRequest().GetHttp()
	var in checkInput
	readGRPCInput(httpReq, attrs.GetContextExtensions(), &in)
	d := s.decide(ctx, &in)
	s.record(ctx, &in, d.reason)
	return s.grpcResponse(httpReq, d, wire), nil
}

func (s *Server) recordPanic(ctx context.Context, p any) {
	s.metrics.decisions[reasonInternal].Inc()
	s.log.LogAttrs(ctx, slog.LevelError, "check panicked, request denied", slog.Any("panic", p))
}

// readGRPCInput reads the request attributes as Envoy sends them: the
// lower-cased headers map with repeated headers joined by ",", or the
// header_map list when Envoy is set to send raw headers.
func readGRPCInput(h *authv3.AttributeContext_HttpRequest, ext map[string]string, in *checkInput) {
	in.host, in.method, in.path = h.GetHost(), h.GetMethod(), h.GetPath()
	in.extensionScopes = ext[ScopesExtension]
	// Envoy sends header_map instead of headers when it encodes raw
	// headers. Its presence, not its length, picks the form, so that a
	// projected request (projectCheckRequest) reads the same way.
	if hm := h.GetHeaderMap(); hm != nil {
		readHeaderMap(hm.GetHeaders(), in)
		return
	}
	headers := h.GetHeaders()
	if v, ok := headers["authorization"]; ok {
		in.authorization, in.authorizationCount = v, 1
	} else {
		for name, v := range headers {
			if strings.EqualFold(name, "authorization") {
				in.authorization = v
				in.authorizationCount++
			}
		}
	}
	if in.host == "" {
		in.host = firstNonEmpty(headers[":authority"], headers["host"])
	}
	if in.method == "" {
		in.method = headers[":method"]
	}
	if in.path == "" {
		in.path = headers[":path"]
	}
}

func readHeaderMap(headers []*corev3.HeaderValue, in *checkInput) {
	for _, hv := range headers {
		key := hv.GetKey()
		switch {
		case strings.EqualFold(key, "authorization"):
			in.authorizationCount++
			if in.authorizationCount == 1 {
				in.authorization = headerValue(hv)
			}
		case key == ":authority" || strings.EqualFold(key, "host"):
			in.host = firstNonEmpty(in.host, headerValue(hv))
		case key == ":method":
			in.method = firstNonEmpty(in.method, headerValue(hv))
		case key == ":path":
			in.path = firstNonEmpty(in.path, headerValue(hv))
		}
	}
}

// headerValue returns raw_value when Envoy set it, and value otherwise.
func headerValue(hv *corev3.HeaderValue) string {
	if raw := hv.GetRawValue(); len(raw) > 0 {
		return string(raw)
	}
	return hv.GetValue()
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// grpcResponse returns the CheckResponse of a decision. An allow reuses the
// response built for the token unless the client sent identity headers of
// its own, which have to be removed.
func (s *Server) grpcResponse(h *authv3.AttributeContext_HttpRequest, d decision, wire bool) *authv3.CheckResponse {
	switch d.reason {
	case reasonAllowToken:
		remove := s.grpcHeadersToRemove(h, d.token.setNames)
		if remove == nil {
			return d.token.grpcOK.get(wire)
		}
		return okResponse(d.token.grpcHeaders, remove, d.token.metadata)
	case reasonAllowAnonymous:
		remove := s.grpcHeadersToRemove(h, nil)
		if remove == nil {
			return s.anonymousOK.grpc.get(wire)
		}
		return okResponse(nil, remove, nil)
	}
	return s.denialFor(d).grpc.get(wire)
}

// grpcHeadersToRemove lists the client-sent identity headers that the
// allow response does not overwrite. The ones it sets are left out: Envoy
// replaces them with OVERWRITE_IF_EXISTS_OR_ADD, and listing them too
// would drop the new value if Envoy removed after setting.
func (s *Server) grpcHeadersToRemove(h *authv3.AttributeContext_HttpRequest, set []string) []string {
	var remove []string
	for name := range h.GetHeaders() {
		remove = s.appendRemoval(remove, name, set, nil)
	}
	for _, hv := range h.GetHeaderMap().GetHeaders() {
		remove = s.appendRemoval(remove, hv.GetKey(), set, nil)
	}
	return remove
}

// appendRemoval appends the lower-cased name to remove if it is an identity
// header (any "x-auth-" name, or a configured one) that is in neither skip
// list nor already in remove.
func (s *Server) appendRemoval(remove []string, name string, skip1, skip2 []string) []string {
	if !s.isIdentityHeader(name) {
		return remove
	}
	lower := strings.ToLower(name)
	if slices.Contains(skip1, lower) || slices.Contains(skip2, lower) || slices.Contains(remove, lower) {
		return remove
	}
	return append(remove, lower)
}

// identityPrefix marks the header names a client may never send upstream.
const identityPrefix = "x-auth-"

func (s *Server) isIdentityHeader(name string) bool {
	if hasIdentityPrefix(name) {
		return true
	}
	for _, n := range s.identityNames {
		if len(n) == len(name) && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func hasIdentityPrefix(name string) bool {
	return len(name) >= len(identityPrefix) && strings.EqualFold(name[:len(identityPrefix)], identityPrefix)
}
