package v1alpha1_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// TestLimitsMatchIssuer checks that the API's limits and grant types are
// the ones the issuer enforces, so that a resource the API server accepts
// is also a client the issuer accepts.
func TestLimitsMatchIssuer(t *testing.T) {
	if v1alpha1.MaxAccessTokenTTL != clients.MaxAccessTokenTTL {
		t.Errorf("MaxAccessTokenTTL: got %v, want the issuer's %v", v1alpha1.MaxAccessTokenTTL, clients.MaxAccessTokenTTL)
	}

	got := []string{
		string(v1alpha1.GrantTypePassword),
		string(v1alpha1.GrantTypeClientCredentials),
		string(v1alpha1.GrantTypeRefreshToken),
	}
	var want []string
	for _, g := range clients.GrantTypes {
		want = append(want, string(g))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grant types differ from the issuer's (-issuer +api):\n%s", diff)
	}
}

func TestCredentialsSecretName(t *testing.T) {
	tests := []struct {
		name       string
		objName    string
		secretName string
		want       string
	}{
		{name: "default from resource name", objName: "orders-worker", want: "orders-worker-oauth"},
		{name: "explicit secret name", objName: "orders-worker", secretName: "worker-creds", want: "worker-creds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &v1alpha1.OAuthClient{Spec: v1alpha1.OAuthClientSpec{SecretName: tt.secretName}}
			obj.Name = tt.objName
			if got := obj.CredentialsSecretName(); got != tt.want {
				t.Errorf("CredentialsSecretName() = %q, want %q", got, tt.want)
			}
		})
	}
}
