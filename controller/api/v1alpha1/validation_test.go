package v1alpha1_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
)

// The messages of the CRD's CEL rules, as the API server returns them.
const (
	msgPublicClientCredentials = "a public client cannot use client_credentials because it has no secret to authenticate with: remove client_credentials from grantTypes, or set public to false"
	msgRefreshNeedsPassword    = "refresh_token requires password in grantTypes because the issuer hands out refresh tokens only with the password grant: add password to grantTypes, or remove refresh_token"
	msgPublicRotation          = "a public client has no secret to rotate: remove secretRotation, or set public to false"
	msgIdleAboveAbsolute       = "refreshTokenIdleTTL must not exceed refreshTokenTTL: shorten refreshTokenIdleTTL, or lengthen refreshTokenTTL"
	msgAccessTTL               = "accessTokenTTL must be from 1m to 24h, such as 10m"
	msgRefreshTTL              = "refreshTokenTTL must be from 1m to 720h, such as 24h"
	msgIdleTTL                 = "refreshTokenIdleTTL must be from 1m to 720h, such as 8h"
	msgOverlapBelowInterval    = "secretRotation.overlap must be shorter than secretRotation.interval, so that at most two secrets are valid at once: shorten overlap, or lengthen interval"
	msgIntervalMinimum         = "secretRotation.interval must be at least 1h: lengthen it, such as to 720h"
	msgOverlapPositive         = "secretRotation.overlap must be more than 0s, or workloads would fail until they reread the new secret: set it, such as to 24h"
	msgNameTooLong             = "metadata.name is too long for the default Secret name, which appends -oauth: use a name of at most 247 characters, or set spec.secretName"
)

// duration returns d as the *metav1.Duration of an optional spec field.
func duration(d time.Duration) *metav1.Duration {
	return &metav1.Duration{Duration: d}
}

// confidentialSpec returns a valid spec of a confidential service client.
func confidentialSpec() v1alpha1.OAuthClientSpec {
	return v1alpha1.OAuthClientSpec{
		GrantTypes:     []v1alpha1.GrantType{v1alpha1.GrantTypeClientCredentials},
		Scopes:         []v1alpha1.Scope{"orders:read", "inventory:write"},
		Audiences:      []v1alpha1.Audience{"inventory-api"},
		AccessTokenTTL: duration(10 * time.Minute),
		SecretRotation: &v1alpha1.SecretRotation{
			Interval: metav1.Duration{Duration: 720 * time.Hour},
			Overlap:  metav1.Duration{Duration: 24 * time.Hour},
		},
	}
}

// publicSpec returns a valid spec of a public password client.
func publicSpec() v1alpha1.OAuthClientSpec {
	return v1alpha1.OAuthClientSpec{
		Public:              true,
		GrantTypes:          []v1alpha1.GrantType{v1alpha1.GrantTypePassword, v1alpha1.GrantTypeRefreshToken},
		Scopes:              []v1alpha1.Scope{"openid", "orders:read"},
		Audiences:           []v1alpha1.Audience{"orders-api"},
		RefreshTokenTTL:     duration(168 * time.Hour),
		RefreshTokenIdleTTL: duration(8 * time.Hour),
	}
}

// validationCase is one OAuthClient write and the API server's expected
// response. The write is accepted when wantErr is empty, and otherwise
// rejected as Invalid with an error that contains every string of wantErr.
type validationCase struct {
	name    string
	objName string
	spec    v1alpha1.OAuthClientSpec
	wantErr []string
}

// with returns a deep copy of base after change has modified it, so cases
// never share the pointer fields of base.
func with(base v1alpha1.OAuthClientSpec, change func(*v1alpha1.OAuthClientSpec)) v1alpha1.OAuthClientSpec {
	spec := base.DeepCopy()
	change(spec)
	return *spec
}

// createCases are writes that check the spec's schema and CEL rules. Each
// boundary case sits exactly on a limit or one second past it, so the rule
// and the Go constant must agree.
func createCases() []validationCase {
	conf, pub := confidentialSpec(), publicSpec()
	return append(acceptedCases(conf, pub), append(rejectedSchemaCases(conf), rejectedRuleCases(conf, pub)...)...)
}

func acceptedCases(conf, pub v1alpha1.OAuthClientSpec) []validationCase {
	return []validationCase{
		{name: "confidential client", spec: conf},
		{name: "public password client", spec: pub},
		{name: "all grants confidential", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.GrantTypes = []v1alpha1.GrantType{"password", "client_credentials", "refresh_token"}
		})},
		{name: "access TTL at maximum", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.AccessTokenTTL = duration(v1alpha1.MaxAccessTokenTTL)
		})},
		{name: "refresh TTL at maximum", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.RefreshTokenTTL = duration(v1alpha1.MaxRefreshTokenTTL)
			s.RefreshTokenIdleTTL = duration(v1alpha1.MaxRefreshTokenTTL)
		})},
		{name: "idle TTL without absolute", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.RefreshTokenTTL = nil
		})},
		{name: "rotation interval at minimum", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.SecretRotation.Interval.Duration = v1alpha1.MinRotationInterval
			s.SecretRotation.Overlap.Duration = 30 * time.Minute
		})},
		{name: "no scopes", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) { s.Scopes = nil })},
		{name: "scope with every punctuation class", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Scopes = []v1alpha1.Scope{"!#$%&'()*+,-./:;<=>?@[]^_`{|}~"}
		})},
		{name: "explicit secret name", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) { s.SecretName = "worker.creds-1" })},
		{name: "name of 247 characters", objName: strings.Repeat("n", 247), spec: conf},
		{name: "long name with secret name", objName: strings.Repeat("n", 253), spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.SecretName = "worker-creds"
		})},
	}
}

func rejectedSchemaCases(conf v1alpha1.OAuthClientSpec) []validationCase {
	return []validationCase{
		{name: "unknown grant type", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.GrantTypes = []v1alpha1.GrantType{"implicit"}
		}), wantErr: []string{`spec.grantTypes[0]`, `Unsupported value: "implicit"`}},
		{name: "no grant types", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.GrantTypes = []v1alpha1.GrantType{}
		}), wantErr: []string{"spec.grantTypes", "should have at least 1 items"}},
		{name: "duplicate grant type", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.GrantTypes = []v1alpha1.GrantType{"client_credentials", "client_credentials"}
		}), wantErr: []string{`spec.grantTypes[1]`, `Duplicate value: "client_credentials"`}},
		{name: "scope with space", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Scopes = []v1alpha1.Scope{"a b"}
		}), wantErr: []string{`spec.scopes[0]`, `Invalid value: "a b"`, "a scope is printable ASCII without spaces"}},
		{name: "scope with quotes", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Scopes = []v1alpha1.Scope{`"x"`}
		}), wantErr: []string{`spec.scopes[0]`, `Invalid value: "\"x\""`, "a scope is printable ASCII without spaces"}},
		{name: "scope with backslash", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Scopes = []v1alpha1.Scope{`a\b`}
		}), wantErr: []string{`spec.scopes[0]`, "a scope is printable ASCII without spaces"}},
		{name: "empty scope", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Scopes = []v1alpha1.Scope{""}
		}), wantErr: []string{`spec.scopes[0]`, "should be at least 1 chars long"}},
		{name: "duplicate scope", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Scopes = []v1alpha1.Scope{"orders:read", "orders:read"}
		}), wantErr: []string{`spec.scopes[1]`, `Duplicate value: "orders:read"`}},
		{name: "too many scopes", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Scopes = numbered("s", 65)
		}), wantErr: []string{"spec.scopes", "must have at most 64 items"}},
		{name: "empty audiences", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Audiences = []v1alpha1.Audience{}
		}), wantErr: []string{"spec.audiences", "should have at least 1 items"}},
		{name: "missing audiences", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Audiences = nil
		}), wantErr: []string{"spec.audiences", "Required value"}},
		{name: "too many audiences", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			for _, scope := range numbered("api", 17) {
				s.Audiences = append(s.Audiences, v1alpha1.Audience(scope))
			}
		}), wantErr: []string{"spec.audiences", "must have at most 16 items"}},
		{name: "audience with control character", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.Audiences = []v1alpha1.Audience{"api\n"}
		}), wantErr: []string{`spec.audiences[0]`, "should match"}},
		{name: "secret name not DNS-1123", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.SecretName = "Worker_Creds"
		}), wantErr: []string{"spec.secretName", "should match"}},
	}
}

func rejectedRuleCases(conf, pub v1alpha1.OAuthClientSpec) []validationCase {
	return []validationCase{
		{name: "public with client_credentials", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.GrantTypes = []v1alpha1.GrantType{"password", "client_credentials"}
		}), wantErr: []string{"spec", msgPublicClientCredentials}},
		{name: "public with refresh_token only", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.GrantTypes = []v1alpha1.GrantType{"refresh_token"}
		}), wantErr: []string{"spec", msgRefreshNeedsPassword}},
		{name: "refresh_token without password", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.GrantTypes = []v1alpha1.GrantType{"client_credentials", "refresh_token"}
		}), wantErr: []string{"spec", msgRefreshNeedsPassword}},
		{name: "public with rotation", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.SecretRotation = confidentialSpec().SecretRotation
		}), wantErr: []string{"spec", msgPublicRotation}},
		{name: "access TTL 25h", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.AccessTokenTTL = duration(25 * time.Hour)
		}), wantErr: []string{"spec.accessTokenTTL", msgAccessTTL}},
		{name: "access TTL past maximum", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.AccessTokenTTL = duration(v1alpha1.MaxAccessTokenTTL + time.Second)
		}), wantErr: []string{"spec.accessTokenTTL", msgAccessTTL}},
		{name: "access TTL zero", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.AccessTokenTTL = duration(0)
		}), wantErr: []string{"spec.accessTokenTTL", msgAccessTTL}},
		{name: "access TTL 1ns", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.AccessTokenTTL = duration(time.Nanosecond)
		}), wantErr: []string{"spec.accessTokenTTL", msgAccessTTL}},
		{name: "refresh TTL 59s", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.RefreshTokenTTL = duration(59 * time.Second)
			s.RefreshTokenIdleTTL = nil
		}), wantErr: []string{"spec.refreshTokenTTL", msgRefreshTTL}},
		{name: "refresh TTL past maximum", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.RefreshTokenTTL = duration(v1alpha1.MaxRefreshTokenTTL + time.Second)
		}), wantErr: []string{"spec.refreshTokenTTL", msgRefreshTTL}},
		{name: "idle TTL past maximum", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.RefreshTokenTTL = nil
			s.RefreshTokenIdleTTL = duration(v1alpha1.MaxRefreshTokenTTL + time.Second)
		}), wantErr: []string{"spec.refreshTokenIdleTTL", msgIdleTTL}},
		{name: "idle TTL above absolute", spec: with(pub, func(s *v1alpha1.OAuthClientSpec) {
			s.RefreshTokenTTL = duration(8 * time.Hour)
			s.RefreshTokenIdleTTL = duration(8*time.Hour + time.Second)
		}), wantErr: []string{"spec", msgIdleAboveAbsolute}},
		{name: "overlap equal to interval", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.SecretRotation.Overlap = s.SecretRotation.Interval
		}), wantErr: []string{"spec.secretRotation", msgOverlapBelowInterval}},
		{name: "overlap above interval", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.SecretRotation = &v1alpha1.SecretRotation{
				Interval: metav1.Duration{Duration: 2 * time.Hour},
				Overlap:  metav1.Duration{Duration: 3 * time.Hour},
			}
		}), wantErr: []string{"spec.secretRotation", msgOverlapBelowInterval}},
		{name: "interval below minimum", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.SecretRotation.Interval.Duration = v1alpha1.MinRotationInterval - time.Second
			s.SecretRotation.Overlap.Duration = time.Minute
		}), wantErr: []string{"spec.secretRotation.interval", msgIntervalMinimum}},
		{name: "overlap zero", spec: with(conf, func(s *v1alpha1.OAuthClientSpec) {
			s.SecretRotation.Overlap.Duration = 0
		}), wantErr: []string{"spec.secretRotation.overlap", msgOverlapPositive}},
		{name: "name of 248 characters", objName: strings.Repeat("n", 248), spec: conf, wantErr: []string{msgNameTooLong}},
	}
}

// numbered returns count scopes named prefix0, prefix1 and so on.
func numbered(prefix string, count int) []v1alpha1.Scope {
	scopes := make([]v1alpha1.Scope, count)
	for i := range scopes {
		scopes[i] = v1alpha1.Scope(fmt.Sprintf("%s%d", prefix, i))
	}
	return scopes
}

// testCreateValidation creates one OAuthClient per case and checks that the
// API server accepts or rejects it as the case expects.
func testCreateValidation(t *testing.T, c client.Client) {
	const namespace = "create-validation"
	createNamespace(t, c, namespace)

	for i, tt := range createCases() {
		t.Run(tt.name, func(t *testing.T) {
			obj := &v1alpha1.OAuthClient{Spec: tt.spec}
			obj.Namespace = namespace
			obj.Name = tt.objName
			if obj.Name == "" {
				obj.Name = fmt.Sprintf("client-%d", i)
			}
			checkWriteResult(t, "create", c.Create(t.Context(), obj), tt.wantErr)
		})
	}
}

// checkWriteResult checks that err is nil when wantErr is empty, and
// otherwise an Invalid error whose text contains each string of wantErr.
func checkWriteResult(t *testing.T, op string, err error, wantErr []string) {
	t.Helper()
	if len(wantErr) == 0 {
		if err != nil {
			t.Fatalf("%s: got error %v, want nil", op, err)
		}
		return
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("%s: got error %v, want an Invalid error", op, err)
	}
	t.Logf("%s rejected as expected: %v", op, err)
	for _, want := range wantErr {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got error %q, want it to contain %q", op, err, want)
		}
	}
}

// testRawValidation writes fields that the Go types cannot express, such as
// a duration string that Go's time.ParseDuration rejects, as unstructured
// objects. For such a string the API server reports the pattern error and
// also a type conversion error from the field's CEL rule.
func testRawValidation(t *testing.T, c client.Client) {
	const namespace = "raw-validation"
	createNamespace(t, c, namespace)

	tests := []struct {
		name    string
		field   string
		value   any
		wantErr []string
	}{
		{name: "duration in days", field: "accessTokenTTL", value: "1d", wantErr: []string{"spec.accessTokenTTL", "should match"}},
		{name: "negative duration", field: "refreshTokenTTL", value: "-1h", wantErr: []string{"spec.refreshTokenTTL", "should match"}},
		{name: "duration as number", field: "accessTokenTTL", value: int64(600), wantErr: []string{"spec.accessTokenTTL", "must be of type string"}},
		{name: "public as string", field: "public", value: "yes", wantErr: []string{"spec.public", "must be of type boolean"}},
		{name: "fractional duration", field: "accessTokenTTL", value: "1.5h"},
		{name: "compound duration", field: "accessTokenTTL", value: "1h30m"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := rawClient(namespace, fmt.Sprintf("raw-%d", i))
			spec := obj.Object["spec"].(map[string]any)
			spec[tt.field] = tt.value
			checkWriteResult(t, "create", c.Create(t.Context(), obj), tt.wantErr)
		})
	}
}

// rawClient returns an unstructured OAuthClient with a valid confidential
// spec.
func rawClient(namespace, name string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"grantTypes": []any{"client_credentials"},
			"audiences":  []any{"inventory-api"},
		},
	}}
	obj.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("OAuthClient"))
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return obj
}

// testUpdateValidation checks that the API server applies the rules on
// update too: an update that makes a valid object invalid is rejected and
// the stored object keeps its valid spec.
func testUpdateValidation(t *testing.T, c client.Client) {
	const namespace = "update-validation"
	createNamespace(t, c, namespace)

	tests := []struct {
		name    string
		base    v1alpha1.OAuthClientSpec
		change  func(*v1alpha1.OAuthClientSpec)
		wantErr []string
	}{
		{name: "make public with client_credentials", base: confidentialSpec(), change: func(s *v1alpha1.OAuthClientSpec) {
			s.Public = true
			s.SecretRotation = nil
		}, wantErr: []string{msgPublicClientCredentials}},
		{name: "raise access TTL past maximum", base: confidentialSpec(), change: func(s *v1alpha1.OAuthClientSpec) {
			s.AccessTokenTTL = duration(48 * time.Hour)
		}, wantErr: []string{msgAccessTTL}},
		{name: "drop password keeping refresh_token", base: publicSpec(), change: func(s *v1alpha1.OAuthClientSpec) {
			s.GrantTypes = []v1alpha1.GrantType{"refresh_token"}
		}, wantErr: []string{msgRefreshNeedsPassword}},
		{name: "add a scope", base: confidentialSpec(), change: func(s *v1alpha1.OAuthClientSpec) {
			s.Scopes = append(s.Scopes, "orders:write")
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &v1alpha1.OAuthClient{Spec: tt.base}
			obj.Namespace = namespace
			obj.Name = fmt.Sprintf("update-%d", i)
			if err := c.Create(t.Context(), obj); err != nil {
				t.Fatalf("create: %v", err)
			}
			tt.change(&obj.Spec)
			checkWriteResult(t, "update", c.Update(t.Context(), obj), tt.wantErr)
			checkStoredSpec(t, c, obj, tt.base, tt.wantErr)
		})
	}
}
