package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/genproto/googleapis/rpc/code"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kid returns the "kid" of a compact JWS header.
func kid(token string) (string, error) {
	header, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", fmt.Errorf("not a compact JWS")
	}
	data, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return "", err
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return "", err
	}
	return h.KID, nil
}

// loadResult counts what the workers of TestSigningKeyRotationUnderLoad saw.
type loadResult struct {
	mu       sync.Mutex
	requests int
	failures []string
	kids     map[string]int
}

func (r *loadResult) record(kid string, failure error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if failure != nil {
		if len(r.failures) < 10 {
			r.failures = append(r.failures, failure.Error())
		}
		return
	}
	r.kids[kid]++
}

// TestSigningKeyRotationUnderLoad has the controller rotate the signing key
// every few seconds while workers get new tokens and have ext_authz check
// them. No token request and no check may fail, and the tokens must come
// from several keys.
func TestSigningKeyRotationUnderLoad(t *testing.T) {
	c := startCluster(t)
	// The next key is published for 2 s before it signs. ext_authz fetches
	// the key set every second, so it has each key before its first token.
	// Each token is checked at once, so a retired key need not outlive the
	// tokens' lifetime here; the controller allows at most 64 keys.
	keys := keyPolicy{period: 3 * time.Second, publishLead: 2 * time.Second, retireAfter: 30 * time.Second}
	s := startStack(t, c, keys)
	checker := dialCheck(t, s.checkGRPC)
	c.createNamespace(t, "orders")
	oc := newServiceClient("orders", "orders-worker")
	c.create(t, oc)
	oc = c.waitReady(t, client.ObjectKeyFromObject(oc))
	conf := c.credentials(t, oc)
	poll(t, "token for the new client", 10*time.Second, func() error {
		_, err := token(t.Context(), conf)
		return err
	})

	const (
		workers     = 4
		duration    = 12 * time.Second
		maxRequests = 400000
	)
	result := &loadResult{kids: map[string]int{}}
	ctx, cancel := context.WithTimeout(t.Context(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := 0; i < maxRequests/workers && ctx.Err() == nil; i++ {
				k, err := tokenAndCheck(t.Context(), conf, checker)
				result.record(k, err)
			}
		})
	}
	wg.Wait()

	t.Logf("%d requests, tokens by kid: %v", result.requests, result.kids)
	if len(result.failures) > 0 {
		t.Errorf("%d of %d requests failed during rotation; first: %q", len(result.failures), result.requests, result.failures)
	}
	if len(result.kids) < 3 {
		t.Errorf("tokens came from %d keys, want at least 3 (two rotations in %s)", len(result.kids), duration)
	}
}

// tokenAndCheck gets a new token, so that ext_authz verifies it afresh,
// checks it, and returns the kid that signed it.
func tokenAndCheck(ctx context.Context, conf clientcredentials.Config, checker authv3.AuthorizationClient) (string, error) {
	access, err := token(ctx, conf)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	k, err := kid(access)
	if err != nil {
		return "", fmt.Errorf("token header: %w", err)
	}
	got, subject, err := check(ctx, checker, access)
	if err != nil {
		return "", fmt.Errorf("check (kid %s): %w", k, err)
	}
	if got != code.Code_OK || subject != conf.ClientID {
		return "", fmt.Errorf("check (kid %s): code %v, subject %q", k, got, subject)
	}
	return k, nil
}
