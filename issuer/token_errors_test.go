package issuer

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

const basicChallenge = `Basic realm="http://127.0.0.1:8080"`

func TestTokenEndpointErrors(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	ccForm := form("grant_type", "client_credentials", "client_id", "conf", "client_secret", confSecret)
	tests := []struct {
		name       string
		req        tokenRequest
		wantStatus int
		wantBody   string
		wantHeader http.Header
	}{
		{
			name:       "GET method",
			req:        tokenRequest{method: http.MethodGet, contentType: "-"},
			wantStatus: http.StatusMethodNotAllowed,
			wantBody:   `{"error":"invalid_request","error_description":"the token endpoint accepts POST only"}`,
			wantHeader: tokenHeaders("Allow", "POST"),
		},
		{
			name:       "PUT method",
			req:        tokenRequest{method: http.MethodPut, body: ccForm},
			wantStatus: http.StatusMethodNotAllowed,
			wantBody:   `{"error":"invalid_request","error_description":"the token endpoint accepts POST only"}`,
			wantHeader: tokenHeaders("Allow", "POST"),
		},
		{
			name:       "JSON content type",
			req:        tokenRequest{contentType: "application/json", body: `{"grant_type":"client_credentials"}`},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"Content-Type must be application/x-www-form-urlencoded"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "missing content type",
			req:        tokenRequest{contentType: "-", body: ccForm},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"Content-Type must be application/x-www-form-urlencoded"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "malformed content type",
			req:        tokenRequest{contentType: formType + "; charset", body: ccForm},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"Content-Type must be application/x-www-form-urlencoded"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "repeated scope",
			req:        tokenRequest{body: ccForm + "&scope=openid&scope=profile"},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"parameter scope is repeated"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "repeated empty grant_type",
			req:        tokenRequest{body: ccForm + "&grant_type="},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"parameter grant_type is repeated"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "repeated unknown parameter",
			req:        tokenRequest{body: ccForm + "&x%22y=1&x%22y=2"},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"a parameter is repeated"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "body too large",
			req:        tokenRequest{body: ccForm + "&pad=" + strings.Repeat("x", MaxTokenRequestBytes)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"request body is larger than 65536 bytes"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "invalid percent encoding",
			req:        tokenRequest{body: ccForm + "&scope=%zz"},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"request body is not valid form encoding"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "parameters in query string only",
			req:        tokenRequest{path: "/oauth2/token?grant_type=client_credentials&client_id=conf&client_secret=" + confSecret, body: ""},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "grant_type in query string only",
			req:        tokenRequest{path: "/oauth2/token?grant_type=client_credentials", body: form("client_id", "conf", "client_secret", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"missing grant_type"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "no client authentication",
			req:        tokenRequest{body: form("grant_type", "client_credentials")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "unknown client in body",
			req:        tokenRequest{body: form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", "x")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "unknown client with Basic",
			req:        tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("nobody", "x")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders("WWW-Authenticate", basicChallenge),
		},
		{
			name:       "wrong secret with Basic",
			req:        tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("conf", "wrong")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders("WWW-Authenticate", basicChallenge),
		},
		{
			name:       "wrong secret in body",
			req:        tokenRequest{body: form("grant_type", "client_credentials", "client_id", "conf", "client_secret", "wrong")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "Basic secret not form-encoded",
			req:        tokenRequest{body: form("grant_type", "client_credentials"), authorization: "Basic " + b64(specialID+":"+specialSecret)},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders("WWW-Authenticate", basicChallenge),
		},
		{
			name:       "Basic not base64",
			req:        tokenRequest{body: form("grant_type", "client_credentials"), authorization: "Basic conf:conf-secret"},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders("WWW-Authenticate", basicChallenge),
		},
		{
			name:       "Bearer scheme",
			req:        tokenRequest{body: form("grant_type", "client_credentials"), authorization: "Bearer abc"},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders("WWW-Authenticate", basicChallenge),
		},
		{
			name:       "repeated Authorization header",
			req:        tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("conf", confSecret), extraAuthorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"Authorization header is repeated"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "Basic and client_secret together",
			req:        tokenRequest{body: form("grant_type", "client_credentials", "client_id", "conf", "client_secret", confSecret), authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"use either HTTP Basic or client_secret in the body, not both"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "client_id differs from Basic",
			req:        tokenRequest{body: form("grant_type", "client_credentials", "client_id", "other"), authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"client_id does not match the Authorization header"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "client_secret without client_id",
			req:        tokenRequest{body: form("grant_type", "client_credentials", "client_secret", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"client_secret requires client_id"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "confidential client without secret",
			req:        tokenRequest{body: form("grant_type", "client_credentials", "client_id", "conf")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "public client with secret",
			req:        tokenRequest{body: form("grant_type", "password", "client_id", "public", "client_secret", "x", "username", "demo", "password", demoPassword)},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "public client with Basic",
			req:        tokenRequest{body: form("grant_type", "password", "username", "demo", "password", demoPassword), authorization: basic("public", "")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wantHeader: tokenHeaders("WWW-Authenticate", basicChallenge),
		},
		{
			name:       "missing grant_type",
			req:        tokenRequest{body: form("client_id", "conf", "client_secret", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"missing grant_type"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "unknown grant_type",
			req:        tokenRequest{body: form("grant_type", "authorization_code", "client_id", "conf", "client_secret", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"unsupported_grant_type","error_description":"grant_type is not supported"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "grant not allowed for client",
			req:        tokenRequest{body: form("grant_type", "password", "username", "demo", "password", demoPassword), authorization: basic("cc-only", ccSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"unauthorized_client","error_description":"client is not allowed to use grant_type password"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "client_credentials for public client",
			req:        tokenRequest{body: form("grant_type", "client_credentials", "client_id", "public")},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"unauthorized_client","error_description":"client is not allowed to use grant_type client_credentials"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "scope with a quote",
			req:        tokenRequest{body: ccForm + "&" + form("scope", `orders:read a"b`)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_scope","error_description":"scope is malformed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "scope with double space",
			req:        tokenRequest{body: ccForm + "&" + form("scope", "openid  profile")},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_scope","error_description":"scope is malformed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "scope not allowed",
			req:        tokenRequest{body: ccForm + "&" + form("scope", "orders:read orders:admin")},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_scope","error_description":"scope orders:admin is not allowed"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "password grant without username",
			req:        tokenRequest{body: form("grant_type", "password", "password", demoPassword), authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"missing username"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "password grant with empty password",
			req:        tokenRequest{body: form("grant_type", "password", "username", "demo", "password", ""), authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"missing password"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "wrong password",
			req:        tokenRequest{body: form("grant_type", "password", "username", "demo", "password", "wrong"), authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_grant","error_description":"invalid username or password"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "unknown user",
			req:        tokenRequest{body: form("grant_type", "password", "username", "nobody", "password", demoPassword), authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_grant","error_description":"invalid username or password"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "refresh without refresh_token",
			req:        tokenRequest{body: form("grant_type", "refresh_token"), authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"missing refresh_token"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "unknown refresh token",
			req:        tokenRequest{body: form("grant_type", "refresh_token", "refresh_token", "never-issued"), authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_grant","error_description":"refresh token is invalid"}`,
			wantHeader: tokenHeaders(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.do(t, tt.req)
			if rec.Code != tt.wantStatus {
				t.Errorf("got status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("got body %s, want %s", got, tt.wantBody)
			}
			if diff := cmp.Diff(tt.wantHeader, rec.Header()); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnknownUserMatchesWrongPassword(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	wrong := env.do(t, tokenRequest{body: form("grant_type", "password", "username", "demo", "password", "wrong"), authorization: basic("conf", confSecret)})
	unknown := env.do(t, tokenRequest{body: form("grant_type", "password", "username", "nobody", "password", "wrong"), authorization: basic("conf", confSecret)})
	if wrong.Code != unknown.Code {
		t.Errorf("got status %d for an unknown user, want %d as for a wrong password", unknown.Code, wrong.Code)
	}
	if diff := cmp.Diff(wrong.Header(), unknown.Header()); diff != "" {
		t.Errorf("header differs between wrong password and unknown user (-wrong +unknown):\n%s", diff)
	}
	if diff := cmp.Diff(wrong.Body.String(), unknown.Body.String()); diff != "" {
		t.Errorf("body differs between wrong password and unknown user (-wrong +unknown):\n%s", diff)
	}
}
