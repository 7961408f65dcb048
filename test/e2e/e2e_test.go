package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const (
	demoUser     = "demo"
	demoPassword = "demo"
	demoClient   = "demo-client"
	demoSecret   = "demo-secret"
	challenge    = `Bearer realm="gatehouse"`
)

// passwordToken gets an access token for the demo user with the password
// grant, as a real OAuth2 client library does it.
func passwordToken(t *testing.T, issuerURL string) *oauth2.Token {
	t.Helper()
	conf := oauth2.Config{
		ClientID:     demoClient,
		ClientSecret: demoSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: issuerURL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:       []string{"openid", "orders:read"},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tok, err := conf.PasswordCredentialsToken(ctx, demoUser, demoPassword)
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("password grant returned access token %t, refresh token %t; want both", tok.AccessToken != "", tok.RefreshToken != "")
	}
	return tok
}

// tamper flips one character in the signature part of a JWT.
func tamper(token string) string {
	b := []byte(token)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestNginxAuthRequest(t *testing.T) {
	stack := startDev(t)
	up := startUpstream(t)
	proxy := startNginx(t, stack.HTTPAddr, up.addr())
	tok := passwordToken(t, stack.IssuerURL)

	tests := []struct {
		name          string
		header        http.Header
		wantStatus    int
		wantChallenge string
		wantSubject   string // "" means the upstream must not be reached
	}{
		{
			name:        "valid token reaches upstream",
			header:      http.Header{"Authorization": {"Bearer " + tok.AccessToken}},
			wantStatus:  http.StatusOK,
			wantSubject: demoUser,
		},
		{
			name:          "no token",
			header:        http.Header{},
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: challenge,
		},
		{
			name:          "tampered token",
			header:        http.Header{"Authorization": {"Bearer " + tamper(tok.AccessToken)}},
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: challenge + `, error="invalid_token"`,
		},
		{
			name:        "spoofed subject replaced",
			header:      http.Header{"Authorization": {"Bearer " + tok.AccessToken}, "X-Auth-Subject": {"admin"}},
			wantStatus:  http.StatusOK,
			wantSubject: demoUser,
		},
		{
			name:          "spoofed subject without token",
			header:        http.Header{"X-Auth-Subject": {"admin"}},
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: challenge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.requests())
			resp := doGet(t, proxy+"/orders/42?x=1", tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			got := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(got, tt.wantChallenge) || (tt.wantChallenge == "") != (got == "") {
				t.Errorf("WWW-Authenticate = %q, want prefix %q", got, tt.wantChallenge)
			}
			if tt.wantChallenge == challenge && got != challenge {
				t.Errorf("WWW-Authenticate = %q, want exactly %q (no error code without a token)", got, challenge)
			}
			reqs := up.requests()[before:]
			if tt.wantSubject == "" {
				if len(reqs) != 0 {
					t.Fatalf("upstream got %d requests, want none", len(reqs))
				}
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(reqs))
			}
			if got := reqs[0].Values("X-Auth-Subject"); len(got) != 1 || got[0] != tt.wantSubject {
				t.Errorf("upstream X-Auth-Subject = %q, want [%q]", got, tt.wantSubject)
			}
			if got := reqs[0].Get("X-Auth-Client-Id"); got != demoClient {
				t.Errorf("upstream X-Auth-Client-Id = %q, want %q", got, demoClient)
			}
			if got := reqs[0].Get("X-Auth-Username"); got != demoUser {
				t.Errorf("upstream X-Auth-Username = %q, want %q", got, demoUser)
			}
			if got := reqs[0].Get("X-Auth-Scope"); got != "openid orders:read" {
				t.Errorf("upstream X-Auth-Scope = %q, want %q", got, "openid orders:read")
			}
		})
	}
	assertNoSecretsLogged(t, stack, tok)
}

func doGet(t *testing.T, url string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// assertNoSecretsLogged fails if the process output holds a token, the demo
// password or the client secret.
func assertNoSecretsLogged(t *testing.T, stack *devStack, tok *oauth2.Token) {
	t.Helper()
	signature := tok.AccessToken[strings.LastIndexByte(tok.AccessToken, '.')+1:]
	for _, line := range strings.Split(stack.logs.String(), "\n") {
		for name, secret := range map[string]string{
			"access token signature": signature,
			"refresh token":          tok.RefreshToken,
			"client secret":          demoSecret,
		} {
			if strings.Contains(line, secret) {
				t.Errorf("log line contains the %s: %s", name, line)
			}
		}
	}
}

func TestGRPCCheckEnvoyShaped(t *testing.T) {
	stack := startDev(t)
	tok := passwordToken(t, stack.IssuerURL)
	conn, err := grpc.NewClient(stack.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial ext_authz: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	client := authv3.NewAuthorizationClient(conn)

	waitServing(t, conn)

	tests := []struct {
		name          string
		headers       map[string]string
		extensions    map[string]string
		wantCode      code.Code
		wantStatus    int32
		wantChallenge string
		wantSubject   string
		wantRemoved   []string
	}{
		{
			name:        "valid token",
			headers:     map[string]string{"authorization": "Bearer " + tok.AccessToken},
			wantCode:    code.Code_OK,
			wantSubject: demoUser,
		},
		{
			name:          "no token",
			headers:       map[string]string{},
			wantCode:      code.Code_UNAUTHENTICATED,
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: challenge,
		},
		{
			name:          "tampered token",
			headers:       map[string]string{"authorization": "Bearer " + tamper(tok.AccessToken)},
			wantCode:      code.Code_UNAUTHENTICATED,
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: challenge + `, error="invalid_token"`,
		},
		{
			name:        "spoofed identity headers",
			headers:     map[string]string{"authorization": "Bearer " + tok.AccessToken, "x-auth-subject": "admin", "x-auth-roles": "admin"},
			wantCode:    code.Code_OK,
			wantSubject: demoUser,
			wantRemoved: []string{"x-auth-roles"},
		},
		{
			name:          "scope from context extensions missing",
			headers:       map[string]string{"authorization": "Bearer " + tok.AccessToken},
			extensions:    map[string]string{"gatehouse.scopes": "orders:write"},
			wantCode:      code.Code_PERMISSION_DENIED,
			wantStatus:    http.StatusForbidden,
			wantChallenge: challenge + `, error="insufficient_scope"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			resp, err := client.Check(ctx, envoyRequest(tt.headers, tt.extensions))
			if err != nil {
				t.Fatalf("Check returned a transport error: %v", err)
			}
			if got := code.Code(resp.GetStatus().GetCode()); got != tt.wantCode {
				t.Fatalf("status code = %v, want %v", got, tt.wantCode)
			}
			if tt.wantCode != code.Code_OK {
				checkDenied(t, resp, tt.wantStatus, tt.wantChallenge)
				return
			}
			checkAllowed(t, resp, tt.wantSubject, tt.wantRemoved)
		})
	}
}

// envoyRequest builds a CheckRequest the way Envoy's ext_authz filter does:
// lower-cased header names with the HTTP/2 pseudo-headers.
func envoyRequest(headers, extensions map[string]string) *authv3.CheckRequest {
	all := map[string]string{":authority": "api.example.com", ":method": "GET", ":path": "/orders/42?x=1", "x-request-id": "e2e"}
	for k, v := range headers {
		all[k] = v
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Path: "/orders/42?x=1", Host: "api.example.com", Scheme: "http", Protocol: "HTTP/1.1", Headers: all,
		}},
		ContextExtensions: extensions,
	}}
}

func checkDenied(t *testing.T, resp *authv3.CheckResponse, wantStatus int32, wantChallenge string) {
	t.Helper()
	denied := resp.GetDeniedResponse()
	if denied == nil {
		t.Fatal("denied_response missing")
	}
	if got := int32(denied.GetStatus().GetCode()); got != wantStatus {
		t.Errorf("HTTP status = %d, want %d", got, wantStatus)
	}
	got := headerValue(denied.GetHeaders(), "www-authenticate")
	if !strings.HasPrefix(got, wantChallenge) {
		t.Errorf("WWW-Authenticate = %q, want prefix %q", got, wantChallenge)
	}
	if wantChallenge == challenge && got != challenge {
		t.Errorf("WWW-Authenticate = %q, want exactly %q", got, challenge)
	}
}

func checkAllowed(t *testing.T, resp *authv3.CheckResponse, wantSubject string, wantRemoved []string) {
	t.Helper()
	ok := resp.GetOkResponse()
	if ok == nil {
		t.Fatal("ok_response missing")
	}
	for _, h := range ok.GetHeaders() {
		if h.GetHeader().GetKey() == "x-auth-subject" && h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("x-auth-subject append action = %v, want OVERWRITE_IF_EXISTS_OR_ADD", h.GetAppendAction())
		}
	}
	if got := headerValue(ok.GetHeaders(), "x-auth-subject"); got != wantSubject {
		t.Errorf("x-auth-subject = %q, want %q", got, wantSubject)
	}
	removed := strings.Join(ok.GetHeadersToRemove(), ",")
	for _, name := range wantRemoved {
		if !strings.Contains(","+removed+",", ","+name+",") {
			t.Errorf("headers_to_remove = %q, want it to hold %q", removed, name)
		}
	}
}

func headerValue(headers []*corev3.HeaderValueOption, name string) string {
	for _, h := range headers {
		if strings.EqualFold(h.GetHeader().GetKey(), name) {
			return h.GetHeader().GetValue()
		}
	}
	return ""
}

func TestClientCredentialsToken(t *testing.T) {
	stack := startDev(t)
	conf := clientcredentials.Config{
		ClientID:     demoClient,
		ClientSecret: demoSecret,
		TokenURL:     stack.IssuerURL + "/oauth2/token",
		Scopes:       []string{"orders:read"},
	}
	tok, err := conf.Token(t.Context())
	if err != nil {
		t.Fatalf("client_credentials grant: %v", err)
	}
	if tok.RefreshToken != "" {
		t.Error("client_credentials returned a refresh token, want none")
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+stack.HTTPAddr+"/orders", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("HTTP check: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP check status = %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Auth-Subject"); got != demoClient {
		t.Errorf("X-Auth-Subject = %q, want the client ID %q", got, demoClient)
	}
}

// waitServing waits until the gRPC health service reports the Check service
// as serving, which follows the server's readiness within about a second.
func waitServing(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "envoy.service.auth.v3.Authorization"})
		if err != nil {
			t.Fatalf("health check: %v", err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health status = %v after 5s, want SERVING once the keys are loaded", resp.GetStatus())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
