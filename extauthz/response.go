package extauthz

import (
	"net/http"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// denial is a deny response in both of its forms. The fixed ones are built
// once per Server. Only insufficient_scope denials, whose challenge names
// the route's scopes, are built per request.
type denial struct {
	status int
	// challenge is the WWW-Authenticate value, nil for a 5xx.
	challenge []string
	body      string
	grpc      prebuilt
}

// allowAnonymous is the response to a request allowed without a token.
type allowAnonymous struct {
	grpc prebuilt
	// removeText lists every identity header name for Envoy's HTTP mode,
	// because no identity header is set.
	removeText string
}

func newAllowAnonymous(identityNames []string) *allowAnonymous {
	return &allowAnonymous{
		grpc:       newPrebuilt(okResponse(nil, nil, nil)),
		removeText: strings.Join(identityNames, ", "),
	}
}

func (s *Server) buildDenials(realm string) {
	s.realmAttr = `Bearer realm="` + realm + `"`
	for r := range reasonCount {
		if r.allowed() || r == reasonInsufficientScope {
			continue
		}
		s.denials[r] = s.newDenial(r, "")
	}
}

// newDenial builds the deny response for r. requiredScopes is the scope
// attribute of an insufficient_scope challenge.
func (s *Server) newDenial(r reason, requiredScopes string) *denial {
	info := r.info()
	d := &denial{status: info.status, body: strings.ToLower(http.StatusText(info.status)) + "\n"}
	headers := []*corev3.HeaderValueOption{
		headerOption("content-type", "text/plain; charset=utf-8"),
		headerOption("cache-control", "no-store"),
	}
	if r.hasChallenge() {
		challenge := s.challenge(info, requiredScopes)
		d.challenge = []string{challenge}
		headers = append(headers, headerOption("www-authenticate", challenge))
	}
	d.grpc = newPrebuilt(&authv3.CheckResponse{
		Status: &status.Status{Code: int32(r.grpcCode()), Message: info.label},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(info.status)},
			Headers: headers,
			Body:    d.body,
		}},
	})
	return d
}

// challenge formats the RFC 6750 §3 WWW-Authenticate value. Every part is
// fixed text or a scope token, which RFC 6749 §3.3 keeps free of quotes
// and backslashes, so nothing needs escaping.
func (s *Server) challenge(info reasonInfo, requiredScopes string) string {
	var b strings.Builder
	b.WriteString(s.realmAttr)
	if info.errorCode != "" {
		b.WriteString(`, error="` + info.errorCode + `"`)
	}
	if info.description != "" && info.errorCode != errorInsufficientScope {
		b.WriteString(`, error_description="` + info.description + `"`)
	}
	if requiredScopes != "" {
		b.WriteString(`, scope="` + requiredScopes + `"`)
	}
	return b.String()
}

// denialFor returns the deny response of a decision.
func (s *Server) denialFor(d decision) *denial {
	if d.reason == reasonInsufficientScope {
		return s.newDenial(d.reason, d.requiredScopes)
	}
	return s.denials[d.reason]
}

func headerOption(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: name, Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// prebuilt is a CheckResponse built once and sent many times, in two forms.
// msg is the structured message. wire is a CheckResponse whose only content
// is the wire encoding of msg, held as unknown fields: protobuf marshals
// unknown fields verbatim, so wire produces the same bytes as msg without
// the work of encoding it. Only the gRPC service sends wire, and a direct Check
// caller gets msg.
type prebuilt struct {
	msg  *authv3.CheckResponse
	wire *authv3.CheckResponse
}

func newPrebuilt(msg *authv3.CheckResponse) prebuilt {
	encoded, err := proto.Marshal(msg)
	if err != nil {
		// Not reachable for the messages built here. Send msg itself then.
		return prebuilt{msg: msg, wire: msg}
	}
	wire := &authv3.CheckResponse{}
	wire.ProtoReflect().SetUnknown(protoreflect.RawFields(encoded))
	return prebuilt{msg: msg, wire: wire}
}

func (p prebuilt) get(wire bool) *authv3.CheckResponse {
	if wire {
		return p.wire
	}
	return p.msg
}
