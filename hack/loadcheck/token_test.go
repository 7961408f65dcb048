package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tokenEndpoint is a minimal OAuth2 token endpoint for demo-client and the
// user demo/demo. It records the grant type of each request.
func tokenEndpoint(t *testing.T, grants *[]string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		*grants = append(*grants, r.PostForm.Get("grant_type"))
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != "demo-client" || secret != "demo-secret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		if r.PostForm.Get("grant_type") == "password" && r.PostForm.Get("password") != "demo" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%s","token_type":"Bearer","expires_in":300}`, r.PostForm.Get("grant_type"))
	})
	mux.HandleFunc("POST /redirect/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		// Following this redirect would succeed, so only a client that
		// refuses redirects fails.
		http.Redirect(w, r, "/oauth2/token", http.StatusTemporaryRedirect)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestTokenCommand(t *testing.T) {
	var grants []string
	srv := tokenEndpoint(t, &grants)
	tests := []struct {
		name      string
		args      []string
		wantToken string
		wantGrant string
	}{
		{name: "client credentials", args: []string{"-client-id", "demo-client", "-client-secret", "demo-secret"},
			wantToken: "tok-client_credentials", wantGrant: "client_credentials"},
		{name: "password", args: []string{"-client-id", "demo-client", "-client-secret", "demo-secret", "-username", "demo", "-password", "demo"},
			wantToken: "tok-password", wantGrant: "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grants = nil
			out := filepath.Join(t.TempDir(), "token")
			args := append([]string{"token", "-issuer", srv.URL + "/", "-out", out}, tt.args...)
			if err := dispatch(t.Context(), args, os.Stdout); err != nil {
				t.Fatalf("token error = %v", err)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(data)); got != tt.wantToken {
				t.Errorf("token file = %q, want %q", got, tt.wantToken)
			}
			info, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if mode := info.Mode().Perm(); mode != 0o600 {
				t.Errorf("token file mode = %v, want 0600", mode)
			}
			if len(grants) == 0 || grants[len(grants)-1] != tt.wantGrant {
				t.Errorf("grant types seen = %v, want the last to be %q", grants, tt.wantGrant)
			}
		})
	}
}

func TestTokenCommandFailures(t *testing.T) {
	var grants []string
	srv := tokenEndpoint(t, &grants)
	tests := []struct {
		name      string
		args      []string
		wantUsage bool
	}{
		{name: "wrong secret", args: []string{"-issuer", srv.URL, "-client-id", "demo-client", "-client-secret", "nope"}},
		{name: "wrong password", args: []string{"-issuer", srv.URL, "-client-id", "demo-client", "-client-secret", "demo-secret", "-username", "demo", "-password", "x"}},
		{name: "redirect not followed", args: []string{"-issuer", srv.URL + "/redirect", "-client-id", "demo-client", "-client-secret", "demo-secret"}},
		{name: "remote issuer", args: []string{"-issuer", "http://issuer.example.com", "-client-id", "c"}, wantUsage: true},
		{name: "missing client id", args: []string{"-issuer", srv.URL}, wantUsage: true},
		{name: "password without user", args: []string{"-issuer", srv.URL, "-client-id", "c", "-password", "p"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "token")
			err := dispatch(t.Context(), append([]string{"token", "-out", out}, tt.args...), os.Stdout)
			if err == nil {
				t.Fatal("token error = nil, want an error")
			}
			if got := errors.Is(err, errUsage); got != tt.wantUsage {
				t.Errorf("token error = %v, errors.Is(errUsage) = %t, want %t", err, got, tt.wantUsage)
			}
			if strings.Contains(err.Error(), "demo-secret") {
				t.Errorf("token error %q contains the client secret", err)
			}
			if _, statErr := os.Stat(out); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("token file exists after a failure, want none")
			}
		})
	}
}
