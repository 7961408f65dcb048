package extauthz

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// testAudience is the audience every test issuer accepts.
const testAudience = "api"

// Keys are generated once per test binary, because RSA generation is slow.
var testKeys = sync.OnceValue(func() map[jose.Algorithm][]*jose.SigningKey {
	keys := make(map[jose.Algorithm][]*jose.SigningKey)
	for _, alg := range []jose.Algorithm{jose.ES256, jose.RS256, jose.EdDSA} {
		for range 2 {
			k, err := jose.GenerateKey(alg)
			if err != nil {
				panic(err)
			}
			keys[alg] = append(keys[alg], k)
		}
	}
	return keys
})

// testKey returns the i-th pre-generated key of alg (i is 0 or 1).
func testKey(alg jose.Algorithm, i int) *jose.SigningKey { return testKeys()[alg][i] }

// testClock is a settable clock shared by the server and the token signer.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testIssuer serves RFC 8414 metadata and a JWKS on a loopback httptest server.
type testIssuer struct {
	srv *httptest.Server
	url string

	mu             sync.Mutex
	jwks           []byte
	metadataIssuer string

	jwksFetches     atomic.Int32
	metadataFetches atomic.Int32
	down            atomic.Bool
	garbage         atomic.Bool
	jwksDelay       atomic.Int64
}

func newTestIssuer(t testing.TB, keys ...*jose.SigningKey) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", ti.serveMetadata)
	mux.HandleFunc("GET /jwks", ti.serveJWKS)
	// The URL is known before Start, so handlers read it without a race.
	ti.srv = httptest.NewUnstartedServer(mux)
	ti.url = "http://" + ti.srv.Listener.Addr().String()
	ti.metadataIssuer = ti.url
	ti.publish(t, keys...)
	ti.srv.Start()
	t.Cleanup(ti.srv.Close)
	return ti
}

func (ti *testIssuer) publish(t testing.TB, keys ...*jose.SigningKey) {
	t.Helper()
	pubs := make([]jose.PublicKey, 0, len(keys))
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	data, err := jose.MarshalJWKS(pubs)
	if err != nil {
		t.Fatalf("MarshalJWKS: %v", err)
	}
	ti.mu.Lock()
	ti.jwks = data
	ti.mu.Unlock()
}

func (ti *testIssuer) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	ti.metadataFetches.Add(1)
	if ti.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	ti.mu.Lock()
	iss := ti.metadataIssuer
	ti.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": ti.url + "/jwks"})
}

func (ti *testIssuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	ti.jwksFetches.Add(1)
	time.Sleep(time.Duration(ti.jwksDelay.Load()))
	if ti.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if ti.garbage.Load() {
		_, _ = io.WriteString(w, `{"keys": [{"kty": "nonsense"}]}`)
		return
	}
	ti.mu.Lock()
	data := ti.jwks
	ti.mu.Unlock()
	_, _ = w.Write(data)
}

// testClaims returns valid claims for ti at now.
func testClaims(issuer string, now time.Time) *accesstoken.Claims {
	return &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   "user-1",
			Audience:  jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
			ID:        "jti-1",
		},
		ClientID:          "client-1",
		Scope:             "read write",
		PreferredUsername: "alice",
	}
}

// signToken signs claims with key as an at+jwt, after letting edit change
// the header.
func signToken(t testing.TB, key *jose.SigningKey, claims jwt.Claims, edit func(h map[string]any)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(string(key.Algorithm)), claims)
	tok.Header["typ"] = accesstoken.Type
	tok.Header["kid"] = key.ID
	if edit != nil {
		edit(tok.Header)
	}
	s, err := tok.SignedString(key.Signer)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

// testEnv is a ready Server with its issuer and clock.
type testEnv struct {
	s      *Server
	issuer *testIssuer
	clock  *testClock
	key    *jose.SigningKey
}

// newTestEnv starts an issuer publishing an ES256 key and a Server that
// trusts it. edit may change the Config before New.
func newTestEnv(t testing.TB, edit func(*Config)) *testEnv {
	t.Helper()
	key := testKey(jose.ES256, 0)
	env := &testEnv{issuer: newTestIssuer(t, key, testKey(jose.RS256, 0), testKey(jose.EdDSA, 0)), clock: newTestClock(), key: key}
	cfg := Config{
		Issuers: []IssuerConfig{{Issuer: env.issuer.url, Audiences: []string{testAudience}}},
		Logger:  slog.New(slog.DiscardHandler),
		Now:     env.clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	env.s = startServer(t, cfg)
	return env
}

func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	waitCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := s.WaitReady(waitCtx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	return s
}

// token signs valid claims with the env's key, after edit changes them.
func (env *testEnv) token(t testing.TB, edit func(*accesstoken.Claims)) string {
	t.Helper()
	c := testClaims(env.issuer.url, env.clock.Now())
	if edit != nil {
		edit(c)
	}
	return signToken(t, env.key, c, nil)
}

// checkRequest builds a CheckRequest the way Envoy sends it.
func checkRequest(method, host, path string, headers map[string]string) *authv3.CheckRequest {
	all := map[string]string{
		":authority": host, ":method": method, ":path": path, ":scheme": "http",
		"accept": "*/*", "user-agent": "test",
	}
	for k, v := range headers {
		all[k] = v
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: method, Host: host, Path: path, Headers: all, Scheme: "http", Protocol: "HTTP/1.1",
		}},
	}}
}

func bearer(token string) map[string]string {
	return map[string]string{"authorization": "Bearer " + token}
}

// outcome is the part of a CheckResponse that the tests compare.
type outcome struct {
	Code     codes.Code
	Status   int
	Headers  map[string]string
	Append   []corev3.HeaderValueOption_HeaderAppendAction
	Remove   []string
	Metadata map[string]string
	Body     string
}

func summarize(resp *authv3.CheckResponse) outcome {
	o := outcome{Code: codes.Code(resp.GetStatus().GetCode()), Headers: map[string]string{}}
	var headers []*corev3.HeaderValueOption
	if ok := resp.GetOkResponse(); ok != nil {
		o.Status = http.StatusOK
		headers = ok.GetHeaders()
		o.Remove = append([]string(nil), ok.GetHeadersToRemove()...)
		sort.Strings(o.Remove)
	}
	if denied := resp.GetDeniedResponse(); denied != nil {
		o.Status = int(denied.GetStatus().GetCode())
		headers = denied.GetHeaders()
		o.Body = denied.GetBody()
	}
	for _, h := range headers {
		o.Headers[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		o.Append = append(o.Append, h.GetAppendAction())
	}
	if md := resp.GetDynamicMetadata(); md != nil {
		o.Metadata = map[string]string{}
		for k, v := range md.GetFields() {
			o.Metadata[k] = v.GetStringValue()
		}
	}
	return o
}

// Expected outcomes shared by the tests.
func allowOutcome(headers map[string]string, remove []string, metadata map[string]string) outcome {
	appendActions := make([]corev3.HeaderValueOption_HeaderAppendAction, len(headers))
	for i := range appendActions {
		appendActions[i] = corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
	}
	if len(appendActions) == 0 {
		appendActions = nil
	}
	return outcome{Code: codes.OK, Status: 200, Headers: headers, Append: appendActions, Remove: remove, Metadata: metadata}
}

func denyOutcome(status int, challenge string) outcome {
	code := codes.PermissionDenied
	if status == http.StatusUnauthorized {
		code = codes.Unauthenticated
	}
	headers := map[string]string{"content-type": "text/plain; charset=utf-8", "cache-control": "no-store"}
	actions := []corev3.HeaderValueOption_HeaderAppendAction{
		corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
	if challenge != "" {
		headers["www-authenticate"] = challenge
		actions = append(actions, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)
	}
	return outcome{Code: code, Status: status, Headers: headers, Append: actions, Body: strings.ToLower(http.StatusText(status)) + "\n"}
}

func invalidToken(description string) outcome {
	return denyOutcome(http.StatusUnauthorized, `Bearer realm="gatehouse", error="invalid_token", error_description="`+description+`"`)
}

// counterValue reads the current value of a counter.
func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("read counter: %v", err)
	}
	return m.GetCounter().GetValue()
}
