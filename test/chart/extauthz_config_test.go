package chart

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gatehouse-dev/gatehouse/extauthz"
)

// TestExtauthzConfigValid parses every rendered ext_authz configuration
// file with the parser that `gatehouse extauthz --config-file` uses.
func TestExtauthzConfigValid(t *testing.T) {
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			maps := objectsOfKind(render(t, c), "ConfigMap")
			if len(maps) == 0 {
				t.Fatal("no ConfigMap rendered")
			}
			for _, o := range maps {
				var cm corev1.ConfigMap
				convert(t, o, &cm)
				data, ok := cm.Data["extauthz.yaml"]
				if !ok {
					t.Errorf("ConfigMap %s/%s has no extauthz.yaml", cm.Namespace, cm.Name)
					continue
				}
				if _, err := extauthz.ParseConfig([]byte(data)); err != nil {
					t.Errorf("ConfigMap %s/%s: %v\n%s", cm.Namespace, cm.Name, err, data)
				}
			}
		})
	}
}

// TestExtauthzConfigIssuer checks the first trusted issuer of the rendered
// configuration: the issuer URL itself, with keys and revocations fetched
// from the issuer Service under the issuer URL's path.
func TestExtauthzConfigIssuer(t *testing.T) {
	tests := []struct {
		name                string
		c                   valuesCase
		wantIssuer, wantJWK string
		wantFeed            string
	}{
		{
			name:       "default",
			c:          valuesCases[0],
			wantIssuer: "http://gatehouse-issuer.gatehouse.svc.cluster.local",
			wantJWK:    "http://gatehouse-issuer.gatehouse.svc.cluster.local/oauth2/jwks",
			wantFeed:   "http://gatehouse-issuer.gatehouse.svc.cluster.local/oauth2/revocations",
		},
		{
			name:       "external URL with path",
			c:          valuesCases[1],
			wantIssuer: "https://auth.example.com/tenant-a",
			wantJWK:    "http://gatehouse-issuer.gatehouse.svc.cluster.local/tenant-a/oauth2/jwks",
			wantFeed:   "http://gatehouse-issuer.gatehouse.svc.cluster.local/tenant-a/oauth2/revocations",
		},
		{
			name:       "issuer outside the release",
			c:          valuesCases[3],
			wantIssuer: "https://auth.example.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cm corev1.ConfigMap
			convert(t, findObject(t, render(t, tt.c), "ConfigMap", "gatehouse-extauthz"), &cm)
			fc, err := extauthz.ParseConfig([]byte(cm.Data["extauthz.yaml"]))
			if err != nil {
				t.Fatalf("parse rendered configuration: %v", err)
			}
			got := fc.Issuers[0]
			if got.Issuer != tt.wantIssuer {
				t.Errorf("issuer is %q, want %q", got.Issuer, tt.wantIssuer)
			}
			if got.JWKSURI != tt.wantJWK {
				t.Errorf("jwksURI is %q, want %q", got.JWKSURI, tt.wantJWK)
			}
			if got.RevocationFeedURI != tt.wantFeed {
				t.Errorf("revocationFeedURI is %q, want %q", got.RevocationFeedURI, tt.wantFeed)
			}
		})
	}
}
