package extauthz

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

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

// FuzzProjectCheckRequest checks projectCheckRequest against a full
// proto.Unmarshal: whenever the full decode succeeds, the projection must
// succeed too and give the check the same input and the same headers to
// remove.
func FuzzProjectCheckRequest(f *testing.F) {
	env := newTestEnv(f, nil)
	seeds := []*authv3.CheckRequest{
		envoyRequest("abc.def.ghi"),
		withExtension(checkRequest("POST", "a.example:8080", "/x?y", map[string]string{"x-auth-subject": "root", "Authorization": "Basic x"}), "read write"),
		headerMapRequest(corev3.HeaderValue{Key: "authorization", RawValue: []byte("Bearer t")}, corev3.HeaderValue{Key: "X-Auth-Roles", Value: "a"}),
		{},
	}
	for _, req := range seeds {
		data, err := proto.Marshal(req)
		if err != nil {
			f.Fatalf("marshal seed: %v", err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var full, projected authv3.CheckRequest
		if err := proto.Unmarshal(data, &full); err != nil {
			return
		}
		if err := projectCheckRequest(data, &projected); err != nil {
			t.Fatalf("projectCheckRequest failed on input proto.Unmarshal accepts: %v", err)
		}
		wantIn, gotIn := projectionView(env.s, &full), projectionView(env.s, &projected)
		if diff := cmp.Diff(wantIn, gotIn); diff != "" {
			t.Errorf("projected request reads differently (-full +projected):\n%s", diff)
		}
	})
}

// checkView is what the check reads from a CheckRequest.
type checkView struct {
	Host, Method, Path, Authorization, Extension string
	AuthorizationCount                           int
	Remove                                       []string
}

func projectionView(s *Server, req *authv3.CheckRequest) checkView {
	var in checkInput
	h := req.GetAttributes().GetRequest().GetHttp()
	readGRPCInput(h, req.GetAttributes().GetContextExtensions(), &in)
	v := checkView{
		Host: in.host, Method: in.method, Path: in.path, Extension: in.extensionScopes,
		AuthorizationCount: in.authorizationCount, Remove: s.grpcHeadersToRemove(h, nil),
	}
	// With several Authorization headers the value is never read, and
	// which one a map yields first is random.
	if in.authorizationCount == 1 {
		v.Authorization = in.authorization
	}
	slices.Sort(v.Remove)
	return v
}
