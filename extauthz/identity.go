package extauthz

import (
	"net/textproto"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
)

// verifiedToken is a token that passed verification, with the response
// pieces of an allow decision built once. It is shared between requests and
// never modified after newVerifiedToken returns.
type verifiedToken struct {
	issuer    string
	subject   string
	clientID  string
	username  string
	scopeText string
	scopes    []string
	audiences []string

	// Revocation checks read these: the "jti", the "sid", the "iat" in
	// Unix seconds, and the deny list of the token's issuer.
	tokenID   string
	sessionID string
	issuedAt  int64
	deny      *denyList

	// expiresAt is the "exp" claim in Unix nanoseconds. The cache drops
	// the entry then, even though verification allows Leeway after it.
	expiresAt int64
	// key signed the token. Once a refresh drops it, the entry is stale.
	key *verifyKey

	// grpcOK is the complete allow response for a request that carries no
	// client copies of identity headers to remove.
	grpcOK prebuilt
	// grpcHeaders and metadata build the allow response when headers
	// have to be removed.
	grpcHeaders []*corev3.HeaderValueOption
	metadata    *structpb.Struct
	// setNames are the lower-case names of the identity headers set.
	setNames []string
	// httpHeaders are the identity headers in net/http form.
	httpHeaders []httpHeader
	// unsetNames are the configured identity header names that this
	// token leaves unset, and unsetText is the same list comma-separated.
	unsetNames []string
	unsetText  string
}

// httpHeader is one response header of the HTTP check, with its name in
// canonical form and a value slice shared by all responses.
type httpHeader struct {
	name   string
	values []string
}

// okStatus is the shared status of every allow response.
var okStatus = &status.Status{Code: 0}

func (s *Server) newVerifiedToken(c *accesstoken.Claims, scopes []string, key *verifyKey) *verifiedToken {
	vt := &verifiedToken{
		issuer:    c.Issuer,
		subject:   c.Subject,
		clientID:  c.ClientID,
		username:  c.PreferredUsername,
		scopeText: c.Scope,
		scopes:    scopes,
		audiences: c.Audience,
		tokenID:   c.ID,
		sessionID: c.SessionID,
		issuedAt:  c.IssuedAt.Unix(),
		expiresAt: c.ExpiresAt.UnixNano(),
		key:       key,
	}
	pairs := [...][2]string{
		{s.headers.Subject, vt.subject},
		{s.headers.ClientID, vt.clientID},
		{s.headers.Scope, vt.scopeText},
		{s.headers.Username, vt.username},
	}
	for _, p := range pairs {
		if p[1] == "" {
			vt.unsetNames = append(vt.unsetNames, p[0])
			continue
		}
		vt.addHeader(p[0], p[1])
	}
	vt.unsetText = strings.Join(vt.unsetNames, ", ")
	vt.metadata = vt.buildMetadata()
	vt.grpcOK = newPrebuilt(okResponse(vt.grpcHeaders, nil, vt.metadata))
	return vt
}

func (vt *verifiedToken) addHeader(name, value string) {
	vt.setNames = append(vt.setNames, name)
	vt.grpcHeaders = append(vt.grpcHeaders, headerOption(name, value))
	vt.httpHeaders = append(vt.httpHeaders, httpHeader{
		name:   textproto.CanonicalMIMEHeaderKey(name),
		values: []string{value},
	})
}

// buildMetadata returns the CheckResponse dynamic metadata, which Envoy
// stores under the ext_authz filter's name for later filters and logs.
func (vt *verifiedToken) buildMetadata() *structpb.Struct {
	fields := map[string]*structpb.Value{
		"sub":       structpb.NewStringValue(vt.subject),
		"client_id": structpb.NewStringValue(vt.clientID),
		"scope":     structpb.NewStringValue(vt.scopeText),
		"iss":       structpb.NewStringValue(vt.issuer),
	}
	if vt.username != "" {
		fields["username"] = structpb.NewStringValue(vt.username)
	}
	return &structpb.Struct{Fields: fields}
}

func okResponse(headers []*corev3.HeaderValueOption, remove []string, md *structpb.Struct) *authv3.CheckResponse {
	return &authv3.CheckResponse{
		Status: okStatus,
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers:         headers,
			HeadersToRemove: remove,
		}},
		DynamicMetadata: md,
	}
}

// valid reports whether the cached token may still be used at now.
func (vt *verifiedToken) valid(now int64) bool {
	return now < vt.expiresAt && !vt.key.retired.Load()
}
