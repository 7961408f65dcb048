package issuer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

func BenchmarkSign(b *testing.B) {
	for _, alg := range []jose.Algorithm{jose.ES256, jose.RS256, jose.EdDSA} {
		b.Run(string(alg), func(b *testing.B) {
			env := newTestEnv(b, alg)
			client, _ := env.server.cfg.Clients.Client("conf")
			who := accessTokenSubject{subject: "sub-demo", username: "demo", email: "demo@example.com", groups: []string{"demo"}, authTime: testNow}
			b.ReportAllocs()
			for b.Loop() {
				claims, err := env.server.newClaims(client, who, "openid orders:read", testNow, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := env.server.keys.SigningKeys().signer.sign(claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTokenRequest measures a whole client_credentials request
// through the handler: form parsing, client authentication, signing and
// the JSON response.
func BenchmarkTokenRequest(b *testing.B) {
	b.Run("client_credentials", func(b *testing.B) {
		env := newTestEnv(b, jose.ES256)
		body := form("grant_type", "client_credentials", "scope", "orders:read")
		auth := basic("cc-only", ccSecret)
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
			r.Header.Set("Content-Type", formType)
			r.Header.Set("Authorization", auth)
			rec := httptest.NewRecorder()
			env.handler.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatalf("got status %d, want 200", rec.Code)
			}
		}
	})
}
