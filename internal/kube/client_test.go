package kube

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestListSecretsPages(t *testing.T) {
	api := newFakeAPI(t)
	var want []string
	for i := range 2*ListPageSize + 5 {
		name := fmt.Sprintf("s%03d", i)
		api.put(name, testLabels, map[string]string{"k": name})
		want = append(want, name)
	}

	secrets, resourceVersion, err := api.client(t).ListSecrets(t.Context(), api.namespace, "gatehouse.dev/registration=client")
	if err != nil {
		t.Fatalf("ListSecrets: %v", err)
	}
	var got []string
	for _, s := range secrets {
		got = append(got, s.Name)
		if string(s.Data["k"]) != s.Name {
			t.Errorf("secret %s: data k = %q, want its name", s.Name, s.Data["k"])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d secrets, want %d in name order", len(got), len(want))
	}
	if wantRV := fmt.Sprint(1 + len(want)); resourceVersion != wantRV {
		t.Errorf("resourceVersion = %q, want %q", resourceVersion, wantRV)
	}
	lists, _ := api.requests()
	var continues []string
	for _, q := range lists {
		continues = append(continues, q.Get("continue"))
		if q.Get("labelSelector") != "gatehouse.dev/registration=client" {
			t.Errorf("list query %v lacks the label selector", q)
		}
	}
	if diff := slices.Compare(continues, []string{"", "100", "200"}); diff != 0 {
		t.Errorf("continue tokens of the pages = %q, want \"\", 100, 200", continues)
	}
}

func TestClientReadsRotatedTokenFile(t *testing.T) {
	api := newFakeAPI(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, "first-token\n")
	cfg := api.config()
	cfg.TokenFile = tokenFile
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	api.set(func(f *fakeAPI) { f.token = "first-token" })
	if _, _, err := c.ListSecrets(t.Context(), api.namespace, ""); err != nil {
		t.Fatalf("list with the first token: %v", err)
	}
	writeFile(t, tokenFile, "second-token")
	api.set(func(f *fakeAPI) { f.token = "second-token" })
	if _, _, err := c.ListSecrets(t.Context(), api.namespace, ""); err != nil {
		t.Fatalf("list after the token file changed: %v", err)
	}
}

func TestClientReportsAPIError(t *testing.T) {
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusForbidden, "Forbidden", `secrets is forbidden: User "system:serviceaccount:gatehouse:issuer" cannot list resource "secrets"`)
	}))
	t.Cleanup(server.Close)
	c, err := NewClient(&Config{Server: server.URL, CAData: certificatePEM(server)})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	_, _, err = c.ListSecrets(t.Context(), "gatehouse", "")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != http.StatusForbidden || apiErr.Reason != "Forbidden" {
		t.Fatalf("got error %v, want an *APIError with code 403 and reason Forbidden", err)
	}
	for _, part := range []string{`cannot list resource "secrets"`, "needs get, list and watch on secrets"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

func TestClientRejectsUntrustedServer(t *testing.T) {
	api := newFakeAPI(t)
	c, err := NewClient(&Config{Server: api.server.URL})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	_, _, err = c.ListSecrets(t.Context(), api.namespace, "")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("list from a server signed by an unknown CA: got error %v, want a certificate error", err)
	}
}

func TestNewClientRejects(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		wantText string
	}{
		{name: "no server", cfg: Config{}, wantText: "kubernetes API server URL is empty"},
		{name: "http", cfg: Config{Server: "http://127.0.0.1:8080"}, wantText: "want https://host[:port]"},
		{name: "CA without certificate", cfg: Config{Server: "https://h", CAData: []byte("not PEM")}, wantText: "no PEM certificate found"},
		{name: "bad key pair", cfg: Config{Server: "https://h", CertData: []byte("x"), KeyData: []byte("y")}, wantText: "kubernetes client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(&tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantText)
			}
		})
	}
	c, err := NewClient(&Config{Server: "127.0.0.1:6443"})
	if err != nil || c.server.String() != "https://127.0.0.1:6443" {
		t.Errorf("NewClient(host:port) = %v, %v; want https://127.0.0.1:6443", c, err)
	}
}

func TestListRejectsOversizedPage(t *testing.T) {
	big := strings.Repeat("A", MaxListResponseBytes)
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"},"data":{"k":"%s"}}]}`, big)
	}))
	t.Cleanup(server.Close)
	c, err := NewClient(&Config{Server: server.URL, CAData: certificatePEM(server)})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	_, _, err = c.ListSecrets(t.Context(), "gatehouse", "")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got error %v, want the page size limit", err)
	}
}
