package extauthz

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"Bearer abc.def.ghi", "bearer  a==", "Basic dXNlcjpwYXNz", "Bearer a,Bearer b",
		"Basic x, Bearer y", `Digest realm="a", nonce="b"`, "Bearer", "", " \t", "Bearer a b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		token, result := parseAuthorization(value, 1)
		if result != credentialBearer {
			if token != "" {
				t.Errorf("parseAuthorization(%q) returned token %q with result %d", value, token, result)
			}
			return
		}
		if !isB64Token(token) || !strings.Contains(value, token) || strings.ContainsAny(token, ", ") {
			t.Errorf("parseAuthorization(%q) accepted invalid token %q", value, token)
		}
	})
}

// FuzzVerifyToken feeds arbitrary tokens and Authorization values to a
// server that trusts one issuer. No input may be allowed: the seeds are
// signed by keys the server does not trust, so no mutation can produce a
// valid signature.
func FuzzVerifyToken(f *testing.F) {
	env := newTestEnv(f, nil)
	stranger := testKey(jose.ES256, 1)
	claims := testClaims(env.issuer.url, env.clock.Now())
	trustedKid := func(h map[string]any) { h["kid"] = env.key.ID }
	f.Add(signToken(f, stranger, claims, nil))
	f.Add(signToken(f, stranger, claims, trustedKid))
	f.Add(signToken(f, testKey(jose.RS256, 1), claims, trustedKid))
	f.Add(signToken(f, testKey(jose.EdDSA, 1), claims, nil))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add(strings.Repeat("A", DefaultMaxTokenBytes+1))
	f.Fuzz(func(t *testing.T, token string) {
		if vt, r := env.s.authenticate(t.Context(), token); vt != nil || r.allowed() {
			t.Fatalf("authenticate allowed a token signed by no trusted key: %q", token)
		}
		req := checkRequest("GET", "api.example.com", "/", map[string]string{"authorization": "Bearer " + token})
		resp, err := env.s.Check(t.Context(), req)
		if err != nil {
			t.Fatalf("Check returned error %v, want a deny response", err)
		}
		if resp.GetOkResponse() != nil || resp.GetDeniedResponse().GetStatus().GetCode() == http.StatusOK {
			t.Fatalf("Check allowed a token signed by no trusted key: %q", token)
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(sampleConfig))
	f.Add([]byte("issuers: [{issuer: 'https://a.example', audiences: [x]}]\nrules: [{host: '*.a', pathPrefix: /p/}]\n"))
	f.Add([]byte("issuers: [{issuer: 'http://127.0.0.1:1/t', audiences: [x], jwksFile: /k, refreshInterval: 1s}]\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := ParseConfig(data)
		if err != nil {
			return
		}
		cfg := fc.Config().withDefaults()
		if err := cfg.validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config that fails validation: %v", err)
		}
		table := compileRules(cfg.Rules)
		for _, p := range []string{"/", "/a/../b", "/public?x"} {
			table.match("a.example:80", "GET", p)
		}
	})
}

func FuzzNormalizePath(f *testing.F) {
	for _, seed := range []string{"/a/b", "/a/../b", "/%2e%2e/x", "//a", "a\\b", "/a?b#c", "", "/%2"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := normalizePath(raw)
		if !strings.HasPrefix(got, "/") {
			t.Errorf("normalizePath(%q) = %q, want a path starting with /", raw, got)
		}
		segments := strings.Split(got, "/")
		if strings.Contains(got, "//") || slices.Contains(segments, "..") || slices.Contains(segments, ".") {
			t.Errorf("normalizePath(%q) = %q still has an empty or dot segment", raw, got)
		}
	})
}
