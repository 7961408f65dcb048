package chart

import (
	"strings"
	"testing"
)

// TestValuesRejected checks that values.schema.json and the chart's own
// checks reject values that would render a broken or unsafe install, with
// an error that names the value.
func TestValuesRejected(t *testing.T) {
	tests := []struct {
		name    string
		set     []string
		wantErr string
	}{
		{name: "unknown top-level key", set: []string{"replica=2"}, wantErr: "additional properties 'replica' not allowed"},
		{name: "unknown nested key", set: []string{"issuer.store.redis.adress=redis:6379"}, wantErr: "additional properties 'adress' not allowed"},
		{name: "embedded store with two replicas", set: []string{"issuer.replicas=2"}, wantErr: "issuer.store.type embedded keeps its state in one pod, so issuer.replicas must be 1"},
		{name: "memory store with autoscaling", set: []string{"issuer.store.type=memory", "issuer.autoscaling.enabled=true"}, wantErr: "issuer.store.type memory keeps its state in one pod"},
		{name: "redis store without address", set: []string{"issuer.store.type=redis", "issuer.replicas=2"}, wantErr: "issuer.store.redis.addresses is empty"},
		{name: "sentinel password without master", set: []string{"issuer.store.type=redis", "issuer.store.redis.addresses={sentinel:26379}", "issuer.store.redis.sentinelPasswordSecret.name=sentinel", "issuer.replicas=2"}, wantErr: "sentinelPasswordSecret is set without issuer.store.redis.masterName"},
		{name: "unknown store type", set: []string{"issuer.store.type=etcd"}, wantErr: "/issuer/store/type"},
		{name: "unknown signing algorithm", set: []string{"signingKeys.algorithm=HS256"}, wantErr: "/signingKeys/algorithm"},
		{name: "duration without unit", set: []string{"issuer.accessTokenTTL=600"}, wantErr: "/issuer/accessTokenTTL"},
		{name: "issuer URL with trailing slash", set: []string{"issuerURL=https://auth.example.com/"}, wantErr: "issuerURL https://auth.example.com/ ends with a slash: drop it"},
		{name: "issuer URL with query", set: []string{"issuerURL=https://auth.example.com?tenant=a"}, wantErr: "is not an http or https URL without query or fragment"},
		{name: "issuer URL without scheme", set: []string{"issuerURL=auth.example.com"}, wantErr: "is not an http or https URL without query or fragment"},
		{name: "key set outgrows 64 keys", set: []string{"signingKeys.rotationPeriod=5m"}, wantErr: "signingKeys.retireAfter 24h5m is more than 61 rotation periods of 5m"},
		{name: "two controllers without election", set: []string{"controller.replicas=2", "controller.leaderElection.enabled=false"}, wantErr: "controller.replicas is above 1 while controller.leaderElection.enabled is false"},
		{name: "audiences removed", set: []string{"extauthz.audiences=null"}, wantErr: "missing property 'audiences'"},
		{name: "empty audiences", set: []string{"extauthz.audiences={}"}, wantErr: "/extauthz/audiences"},
		{name: "bad pull policy", set: []string{"image.pullPolicy=Sometimes"}, wantErr: "/image/pullPolicy"},
		{name: "header name with space", set: []string{"extauthz.headers.subject=x auth"}, wantErr: "/extauthz/headers/subject"},
		{name: "rule without leading slash", set: []string{"extauthz.rules[0].pathPrefix=api"}, wantErr: "/extauthz/rules/0/pathPrefix"},
		{name: "external issuer without URL", set: []string{"issuer.enabled=false"}, wantErr: "issuerURL is empty while issuer.enabled is false"},
		{name: "users file without Secret", set: []string{"issuer.users.source=file"}, wantErr: "issuer.users.file.secretName is empty"},
		{name: "ldap without bind settings", set: []string{"issuer.users.source=ldap", "issuer.users.ldap.url=ldap://ldap:389"}, wantErr: "neither issuer.users.ldap.bindDNTemplate nor issuer.users.ldap.searchBase"},
		{name: "leeway above 5m", set: []string{"extauthz.leeway=10m"}, wantErr: "extauthz.leeway 10m is above the 5m"},
		{name: "refresh below 1s", set: []string{"extauthz.refreshInterval=100ms"}, wantErr: "extauthz.refreshInterval 100ms is below the 1s"},
		{name: "trusted issuer refresh below 1s", set: []string{"extauthz.trustedIssuers[0].issuer=https://partner.example.com", "extauthz.trustedIssuers[0].audiences={orders-api}", "extauthz.trustedIssuers[0].refreshInterval=500ms"}, wantErr: "extauthz.trustedIssuers[0].refreshInterval 500ms is below the 1s"},
		{name: "publish lead below refresh", set: []string{"signingKeys.publishLead=1m", "extauthz.refreshInterval=2m"}, wantErr: "signingKeys.publishLead 1m is shorter than extauthz.refreshInterval 2m"},
		{name: "retire before tokens expire", set: []string{"signingKeys.retireAfter=10m"}, wantErr: "signingKeys.retireAfter 10m is shorter than issuer.accessTokenTTL 10m plus extauthz.leeway 30s"},
		{name: "autoscaling range reversed", set: []string{"extauthz.autoscaling.enabled=true", "extauthz.autoscaling.minReplicas=5", "extauthz.autoscaling.maxReplicas=3"}, wantErr: "extauthz.autoscaling.minReplicas (5) is above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra []string
			for _, s := range tt.set {
				extra = append(extra, "--set", s)
			}
			res := execHelm(t, templateArgs(extra...)...)
			if res.err == nil {
				t.Fatalf("helm template with %v succeeded, want an error containing %q", tt.set, tt.wantErr)
			}
			if !strings.Contains(res.stderr, tt.wantErr) {
				t.Errorf("helm template with %v: got error\n%s\nwant it to contain %q", tt.set, res.stderr, tt.wantErr)
			}
		})
	}
}

// TestValuesAccepted renders the chart with values near the limits that
// TestValuesRejected tests, so that those cases fail for the right reason.
func TestValuesAccepted(t *testing.T) {
	tests := []struct {
		name string
		set  []string
	}{
		{name: "redis store with two replicas", set: []string{"issuer.store.type=redis", "issuer.store.redis.addresses={redis:6379}", "issuer.replicas=2"}},
		{name: "memory store", set: []string{"issuer.store.type=memory"}},
		{name: "leeway of 5m", set: []string{"extauthz.leeway=5m", "signingKeys.retireAfter=15m"}},
		{name: "refresh of 1s", set: []string{"extauthz.refreshInterval=1s"}},
		{name: "retire at token lifetime plus leeway", set: []string{"signingKeys.retireAfter=10m30s"}},
		{name: "issuer URL with path", set: []string{"issuerURL=https://auth.example.com/tenant-a"}},
		{name: "key set at 61 periods", set: []string{"signingKeys.rotationPeriod=30m", "signingKeys.retireAfter=30h30m"}},
		{name: "two controllers with election", set: []string{"controller.replicas=2"}},
		{name: "ldap direct bind", set: []string{"issuer.users.source=ldap", "issuer.users.ldap.url=ldap://ldap:389", "issuer.users.ldap.bindDNTemplate=uid=%s\\,ou=people"}},
		{name: "users file", set: []string{"issuer.users.source=file", "issuer.users.file.secretName=users"}},
		{name: "external issuer", set: []string{"issuer.enabled=false", "issuerURL=https://auth.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra []string
			for _, s := range tt.set {
				extra = append(extra, "--set", s)
			}
			runHelm(t, templateArgs(extra...)...)
		})
	}
}
