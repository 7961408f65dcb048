package issuer

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// TestLogsHoldNoSecrets runs successful and failed requests of every kind
// and checks that no secret, password, token or Authorization header value
// reaches the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	secrets := []string{confSecret, ccSecret, otherSecret, specialSecret, demoPassword, "wrong-password-value", "guessed-secret-value", "forged-refresh-token-value"}
	var headers []string

	send := func(req tokenRequest) *successBody {
		if req.authorization != "" {
			headers = append(headers, strings.TrimPrefix(req.authorization, "Basic "))
		}
		rec := env.do(t, req)
		if rec.Code != http.StatusOK {
			return nil
		}
		var resp successBody
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("decode token response: %v", err)
		}
		secrets = append(secrets, resp.AccessToken, resp.RefreshToken)
		return &resp
	}

	login := send(tokenRequest{body: form("grant_type", "password", "username", "demo", "password", demoPassword), authorization: basic("conf", confSecret)})
	if login == nil {
		t.Fatal("password grant failed, want success")
	}
	send(tokenRequest{body: form("grant_type", "refresh_token", "refresh_token", login.RefreshToken), authorization: basic("conf", confSecret)})
	send(tokenRequest{body: form("grant_type", "refresh_token", "refresh_token", login.RefreshToken), authorization: basic("conf", confSecret)})
	send(tokenRequest{body: form("grant_type", "refresh_token", "refresh_token", "forged-refresh-token-value"), authorization: basic("conf", confSecret)})
	send(tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic(specialID, specialSecret)})
	send(tokenRequest{body: form("grant_type", "client_credentials", "client_id", "cc-only", "client_secret", ccSecret)})
	send(tokenRequest{body: form("grant_type", "client_credentials", "client_id", "cc-only", "client_secret", "guessed-secret-value")})
	send(tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("conf", "guessed-secret-value")})
	send(tokenRequest{body: form("grant_type", "password", "username", "demo", "password", "wrong-password-value"), authorization: basic("conf", confSecret)})
	send(tokenRequest{body: form("grant_type", "password", "username", "nobody", "password", "wrong-password-value"), authorization: basic("conf", confSecret)})
	send(tokenRequest{body: form("grant_type", "password", "username", "demo", "password", demoPassword, "scope", "admin"), authorization: basic("conf", confSecret)})
	send(tokenRequest{body: form("grant_type", "password", "password", demoPassword), authorization: basic("conf", confSecret)})
	send(tokenRequest{body: form("grant_type", "client_credentials", "client_secret", confSecret, "client_secret", confSecret)})
	send(tokenRequest{body: form("grant_type", "client_credentials", "client_id", "conf", "client_secret", confSecret), authorization: basic("conf", confSecret)})
	send(tokenRequest{body: form("grant_type", "client_credentials"), authorization: "Bearer " + login.AccessToken})

	logs := env.logs.String()
	if !strings.Contains(logs, `"msg":"token request failed"`) {
		t.Fatalf("got no failure log lines, want some:\n%s", logs)
	}
	for _, s := range append(secrets, headers...) {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("log contains secret %q:\n%s", s, logs)
		}
	}
	for _, key := range []string{`"grantType":"password"`, `"clientID":"conf"`, `"reason":"wrong client secret"`, `"reason":"refresh token reused, family revoked"`} {
		if !strings.Contains(logs, key) {
			t.Errorf("log lacks %s:\n%s", key, logs)
		}
	}
}

func TestTokenMetrics(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	env.issue(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("cc-only", ccSecret)})
	env.issue(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("cc-only", ccSecret)})
	env.do(t, tokenRequest{body: form("grant_type", "password", "username", "demo", "password", "wrong"), authorization: basic("conf", confSecret)})
	env.do(t, tokenRequest{body: form("grant_type", "magic"), authorization: basic("conf", confSecret)})
	env.do(t, tokenRequest{body: form("client_id", "conf"), authorization: basic("conf", confSecret)})

	tests := []struct {
		name      string
		grantType string
		result    string
		want      float64
	}{
		{name: "issued", grantType: "client_credentials", result: "issued", want: 2},
		{name: "wrong password", grantType: "password", result: "invalid_grant", want: 1},
		{name: "unknown grant type", grantType: "unsupported", result: "unsupported_grant_type", want: 1},
		{name: "missing grant type", grantType: "none", result: "invalid_request", want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := counterValue(t, env, tt.grantType, tt.result)
			if got != tt.want {
				t.Errorf("got %v requests, want %v", got, tt.want)
			}
		})
	}
	if got := len(metricFamily(t, env, "gatehouse_issuer_token_request_seconds").GetMetric()); got != 4 {
		t.Errorf("got %d histogram series, want 4 (one per grant type label)", got)
	}
}

func metricFamily(t *testing.T, env *testEnv, name string) *dto.MetricFamily {
	t.Helper()
	families, err := env.registry.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("metric %s not registered", name)
	return nil
}

// counterValue returns the request counter for the label pair, 0 if absent.
func counterValue(t *testing.T, env *testEnv, grantType, result string) float64 {
	t.Helper()
	for _, m := range metricFamily(t, env, "gatehouse_issuer_token_requests_total").GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["grant_type"] == grantType && labels["result"] == result {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestNewFailsOnDuplicateMetrics(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	cfg := env.server.cfg
	if _, err := New(cfg); err == nil {
		t.Error("second New with the same registry: got nil error, want one")
	}
}
