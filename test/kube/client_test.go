package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/internal/testproc"
)

// newServiceClient returns an OAuthClient for a service that gets tokens
// with client_credentials for audience.
func newServiceClient(namespace, name string) *v1alpha1.OAuthClient {
	return &v1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.OAuthClientSpec{
			GrantTypes: []v1alpha1.GrantType{"client_credentials"},
			Scopes:     []v1alpha1.Scope{"orders:read"},
			Audiences:  []v1alpha1.Audience{audience},
		},
	}
}

// poll calls check every 50 ms until it returns nil or timeout passes, and
// returns how long that took.
func poll(tb testing.TB, what string, timeout time.Duration, check func() error) time.Duration {
	tb.Helper()
	return testproc.Eventually(tb, what, timeout, check)
}

// waitReady waits until the OAuthClient key is Ready=True for its current
// generation and returns it.
func (c *cluster) waitReady(tb testing.TB, key client.ObjectKey) *v1alpha1.OAuthClient {
	tb.Helper()
	var oc v1alpha1.OAuthClient
	poll(tb, "OAuthClient "+key.String()+" Ready", 60*time.Second, func() error {
		if err := c.admin.Get(tb.Context(), key, &oc); err != nil {
			return err
		}
		cond := apimeta.FindStatusCondition(oc.Status.Conditions, v1alpha1.ConditionReady)
		if cond == nil || cond.Status != metav1.ConditionTrue || oc.Status.ObservedGeneration != oc.Generation {
			return fmt.Errorf("conditions %+v, observed generation %d of %d", oc.Status.Conditions, oc.Status.ObservedGeneration, oc.Generation)
		}
		return nil
	})
	return &oc
}

// credentials reads the credentials Secret of oc as an app would mount it.
func (c *cluster) credentials(tb testing.TB, oc *v1alpha1.OAuthClient) clientcredentials.Config {
	tb.Helper()
	var s corev1.Secret
	key := client.ObjectKey{Namespace: oc.Namespace, Name: oc.Status.SecretName}
	if err := c.admin.Get(tb.Context(), key, &s); err != nil {
		tb.Fatalf("get credentials Secret %s: %v", key, err)
	}
	for _, k := range []string{"client_id", "client_secret", "token_url", "issuer"} {
		if len(s.Data[k]) == 0 {
			tb.Fatalf("credentials Secret %s has no %s", key, k)
		}
	}
	return clientcredentials.Config{
		ClientID:     string(s.Data["client_id"]),
		ClientSecret: string(s.Data["client_secret"]),
		TokenURL:     string(s.Data["token_url"]),
		Scopes:       []string{"orders:read"},
	}
}

// token gets an access token with golang.org/x/oauth2 client_credentials.
func token(ctx context.Context, conf clientcredentials.Config) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tok, err := conf.Token(ctx)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// check sends ext_authz a gRPC Check for a request with token, shaped as
// Envoy sends it, and returns the decision and the subject header.
func check(ctx context.Context, c authv3.AuthorizationClient, token string) (code.Code, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method:  http.MethodGet,
			Path:    "/orders",
			Host:    "orders.example.com",
			Scheme:  "https",
			Headers: map[string]string{"authorization": "Bearer " + token},
		}},
	}})
	if err != nil {
		return code.Code_UNKNOWN, "", err
	}
	return code.Code(resp.GetStatus().GetCode()), subjectHeader(resp.GetOkResponse().GetHeaders()), nil
}

func subjectHeader(headers []*corev3.HeaderValueOption) string {
	for _, h := range headers {
		if h.GetHeader().GetKey() == "x-auth-subject" {
			return h.GetHeader().GetValue()
		}
	}
	return ""
}

// dialCheck connects to the ext_authz gRPC address.
func dialCheck(tb testing.TB, addr string) authv3.AuthorizationClient {
	tb.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("dial ext_authz: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// TestOAuthClientEndToEnd applies an OAuthClient, runs the controller, the
// issuer and ext_authz as processes, gets a token with the credentials the
// controller wrote, has ext_authz allow it, and deletes the client again.
func TestOAuthClientEndToEnd(t *testing.T) {
	c := startCluster(t)
	s := startStack(t, c, slowKeys)
	checker := dialCheck(t, s.checkGRPC)
	c.createNamespace(t, "orders")

	oc := newServiceClient("orders", "orders-worker")
	c.create(t, oc)
	oc = c.waitReady(t, client.ObjectKeyFromObject(oc))
	readyAt := time.Now()
	conf := c.credentials(t, oc)
	if conf.ClientID != "orders.orders-worker" || conf.TokenURL != s.issuerURL+"/oauth2/token" {
		t.Errorf("credentials: client_id %q, token_url %q; want orders.orders-worker and %s/oauth2/token", conf.ClientID, conf.TokenURL, s.issuerURL)
	}

	var access string
	poll(t, "token for the new client", 10*time.Second, func() (err error) {
		access, err = token(t.Context(), conf)
		return err
	})
	t.Logf("first token %s after the OAuthClient was Ready", time.Since(readyAt).Round(time.Millisecond))

	got, subject, err := check(t.Context(), checker, access)
	if err != nil || got != code.Code_OK || subject != conf.ClientID {
		t.Fatalf("Check with the token: code %v, subject %q, error %v; want OK and %q", got, subject, err, conf.ClientID)
	}
	if got, _, _ := check(t.Context(), checker, access+"x"); got != code.Code_UNAUTHENTICATED {
		t.Errorf("Check with a damaged token: code %v, want UNAUTHENTICATED", got)
	}

	if err := c.admin.Delete(t.Context(), oc); err != nil {
		t.Fatalf("delete OAuthClient: %v", err)
	}
	poll(t, "deleted client refused", 10*time.Second, func() error {
		_, err := token(t.Context(), conf)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_client" {
			return nil
		}
		return fmt.Errorf("token request after delete: %v, want invalid_client", err)
	})
}
