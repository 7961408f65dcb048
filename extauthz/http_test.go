package extauthz

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
)

// httpOutcome is the part of an HTTP check response that the tests compare.
type httpOutcome struct {
	Status  int
	Headers map[string]string
	Body    string
}

func httpAllow(headers map[string]string) httpOutcome {
	return httpOutcome{Status: http.StatusOK, Headers: headers}
}

func httpDeny(status int, challenge string) httpOutcome {
	h := map[string]string{
		"Content-Type":           "text/plain; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	if challenge != "" {
		h["Www-Authenticate"] = challenge
	}
	return httpOutcome{Status: status, Headers: h, Body: strings.ToLower(http.StatusText(status)) + "\n"}
}

func TestHTTPHandler(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.Rules = []Rule{
			{PathPrefix: "/public", Anonymous: true},
			{PathPrefix: "/admin", Methods: []string{"DELETE"}, Scopes: []string{"admin"}},
		}
	})
	token := env.token(t, nil)
	noUsername := env.token(t, func(c *accesstoken.Claims) { c.PreferredUsername = "" })
	identityHeaders := map[string]string{
		"X-Auth-Subject":   "user-1",
		"X-Auth-Client-Id": "client-1",
		"X-Auth-Scope":     "read write",
		"X-Auth-Username":  "alice",
	}
	allRemoved := "x-auth-subject, x-auth-client-id, x-auth-scope, x-auth-username"

	tests := []struct {
		name    string
		method  string
		target  string
		headers map[string]string
		want    httpOutcome
	}{
		{
			name:    "nginx auth_request allowed",
			method:  "GET",
			target:  "/auth",
			headers: map[string]string{"X-Original-URI": "/items?x=1", "X-Original-Method": "POST", "Authorization": "Bearer " + token},
			want:    httpAllow(identityHeaders),
		},
		{
			name:    "nginx auth_request without token",
			method:  "GET",
			target:  "/auth",
			headers: map[string]string{"X-Original-URI": "/items"},
			want:    httpDeny(http.StatusUnauthorized, `Bearer realm="gatehouse"`),
		},
		{
			name:   "nginx original method and URI pick the scope rule",
			method: "GET",
			target: "/auth",
			headers: map[string]string{
				"X-Original-URI": "/admin/users/1", "X-Original-Method": "DELETE", "Authorization": "Bearer " + token,
			},
			want: httpDeny(http.StatusForbidden, `Bearer realm="gatehouse", error="insufficient_scope", scope="admin"`),
		},
		{
			name:   "traefik forwardAuth anonymous path",
			method: "GET",
			target: "/",
			headers: map[string]string{
				"X-Forwarded-Uri": "/public/logo.png", "X-Forwarded-Method": "GET", "X-Forwarded-Host": "www.example.com",
				"X-Auth-Subject": "root",
			},
			want: httpAllow(map[string]string{"X-Envoy-Auth-Headers-To-Remove": allRemoved}),
		},
		{
			name:    "envoy HTTP mode uses the request's own URI",
			method:  "DELETE",
			target:  "/admin/users/1",
			headers: map[string]string{"Authorization": "Bearer " + token},
			want:    httpDeny(http.StatusForbidden, `Bearer realm="gatehouse", error="insufficient_scope", scope="admin"`),
		},
		{
			name:    "envoy HTTP mode allowed",
			method:  "GET",
			target:  "/items",
			headers: map[string]string{"Authorization": "Bearer " + token},
			want:    httpAllow(identityHeaders),
		},
		{
			name:    "unset and spoofed identity headers listed for removal",
			method:  "GET",
			target:  "/items",
			headers: map[string]string{"Authorization": "Bearer " + noUsername, "X-Auth-Roles": "admin", "X-Auth-Subject": "root"},
			want: httpAllow(map[string]string{
				"X-Auth-Subject":                 "user-1",
				"X-Auth-Client-Id":               "client-1",
				"X-Auth-Scope":                   "read write",
				"X-Envoy-Auth-Headers-To-Remove": "x-auth-username, x-auth-roles",
			}),
		},
		{
			name:    "malformed Authorization header",
			method:  "GET",
			target:  "/items",
			headers: map[string]string{"Authorization": "Bearer a b"},
			want:    httpDeny(http.StatusBadRequest, `Bearer realm="gatehouse", error="invalid_request", error_description="malformed Authorization header"`),
		},
		{
			name:    "invalid token",
			method:  "GET",
			target:  "/items",
			headers: map[string]string{"Authorization": "Bearer " + token + "x"},
			want:    httpDeny(http.StatusUnauthorized, `Bearer realm="gatehouse", error="invalid_token", error_description="invalid signature"`),
		},
		{
			name:    "token in the query string is ignored",
			method:  "GET",
			target:  "/items?access_token=" + token,
			headers: nil,
			want:    httpDeny(http.StatusUnauthorized, `Bearer realm="gatehouse"`),
		},
		{
			name:    "token in a cookie is ignored",
			method:  "GET",
			target:  "/items",
			headers: map[string]string{"Cookie": "access_token=" + token},
			want:    httpDeny(http.StatusUnauthorized, `Bearer realm="gatehouse"`),
		},
		{
			name:    "headers too large",
			method:  "GET",
			target:  "/items",
			headers: map[string]string{"Authorization": "Bearer " + token, "X-Padding": strings.Repeat("a", MaxHeaderBytes)},
			want:    httpDeny(http.StatusRequestHeaderFieldsTooLarge, ""),
		},
	}
	handler := env.s.HTTPHandler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), tt.method, tt.target, strings.NewReader("body is never read"))
			req.Host = "api.example.com"
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if diff := cmp.Diff(tt.want, summarizeHTTP(t, rec)); diff != "" {
				t.Errorf("HTTP check response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPTwoAuthorizationHeaders(t *testing.T) {
	env := newTestEnv(t, nil)
	token := env.token(t, nil)
	req := httptest.NewRequestWithContext(t.Context(), "GET", "/items", nil)
	req.Header.Add("Authorization", "Bearer "+token)
	req.Header.Add("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()

	env.s.HTTPHandler().ServeHTTP(rec, req)

	want := httpDeny(http.StatusBadRequest, `Bearer realm="gatehouse", error="invalid_request", error_description="more than one credential"`)
	if diff := cmp.Diff(want, summarizeHTTP(t, rec)); diff != "" {
		t.Errorf("HTTP check response mismatch (-want +got):\n%s", diff)
	}
}

func TestHTTPServerRoundTrip(t *testing.T) {
	env := newTestEnv(t, nil)
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = env.s.NewHTTPServer("127.0.0.1:0", nil)
	srv.Start()
	t.Cleanup(srv.Close)

	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/items", nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+env.token(t, nil))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("got status %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Auth-Subject"); got != "user-1" {
		t.Errorf("got X-Auth-Subject %q, want %q", got, "user-1")
	}
}

func summarizeHTTP(t *testing.T, rec *httptest.ResponseRecorder) httpOutcome {
	t.Helper()
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	o := httpOutcome{Status: rec.Code, Headers: map[string]string{}, Body: string(body)}
	for name, values := range rec.Header() {
		o.Headers[name] = strings.Join(values, "|")
	}
	return o
}
