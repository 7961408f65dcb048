package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Limits that the CRD's validation rules enforce. The CEL rules in the
// markers below spell the same values as duration literals, and a test
// checks that they agree.
const (
	// MaxAccessTokenTTL is the longest access token lifetime a client may
	// set. It equals the issuer's own limit (issuer/clients), because a
	// revoked access token stays on every ext_authz deny list until it
	// expires.
	MaxAccessTokenTTL = 24 * time.Hour

	// MaxRefreshTokenTTL is the platform's longest refresh token lifetime,
	// absolute or idle: 30 days.
	MaxRefreshTokenTTL = 720 * time.Hour

	// MinRotationInterval is the shortest secret rotation interval. Each
	// rotation makes every workload reread its credentials Secret, so a
	// shorter interval costs more than it protects.
	MinRotationInterval = time.Hour

	// SecretNameSuffix is appended to the resource name to form the default
	// credentials Secret name when spec.secretName is empty.
	SecretNameSuffix = "-oauth"
)

// GrantType is an OAuth 2.0 grant_type value that a client may use.
// +kubebuilder:validation:Enum=password;client_credentials;refresh_token
type GrantType string

// The grant types that the issuer implements (RFC 6749 sections 4.3, 4.4
// and 6).
const (
	GrantTypePassword          GrantType = "password"
	GrantTypeClientCredentials GrantType = "client_credentials"
	GrantTypeRefreshToken      GrantType = "refresh_token"
)

// Scope is one RFC 6749 section 3.3 scope-token: printable ASCII without
// space, double quote or backslash.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=256
// +kubebuilder:validation:XValidation:rule=`self.matches(r'^[\x21\x23-\x5B\x5D-\x7E]+$')`,message="a scope is printable ASCII without spaces, double quotes or backslashes (RFC 6749 section 3.3)"
type Scope string

// Scope's characters are checked by a CEL rule, not a schema pattern, so
// that the error names the allowed characters instead of showing the regex.

// Audience is one value of the "aud" claim of the client's access tokens,
// usually the name of the API that accepts them. It has no control
// characters.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=256
// +kubebuilder:validation:Pattern=`^[^\x00-\x1F\x7F]+$`
type Audience string

// OAuthClientSpec is the OAuth 2.0 client that an app team requests.
//
// Refresh tokens come only from the password grant in this issuer, so
// refresh_token requires password. Together with the rule that a public
// client may not use client_credentials, this means every public client
// lists password: a public client with refresh_token alone could never
// obtain a refresh token, and the API server rejects it.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.public) && self.public) || !('client_credentials' in self.grantTypes)",message="a public client cannot use client_credentials because it has no secret to authenticate with: remove client_credentials from grantTypes, or set public to false"
// +kubebuilder:validation:XValidation:rule="!('refresh_token' in self.grantTypes) || 'password' in self.grantTypes",message="refresh_token requires password in grantTypes because the issuer hands out refresh tokens only with the password grant: add password to grantTypes, or remove refresh_token"
// +kubebuilder:validation:XValidation:rule="!(has(self.public) && self.public) || !has(self.secretRotation)",message="a public client has no secret to rotate: remove secretRotation, or set public to false"
// +kubebuilder:validation:XValidation:rule="!has(self.refreshTokenIdleTTL) || !has(self.refreshTokenTTL) || duration(self.refreshTokenIdleTTL) <= duration(self.refreshTokenTTL)",message="refreshTokenIdleTTL must not exceed refreshTokenTTL: shorten refreshTokenIdleTTL, or lengthen refreshTokenTTL"
type OAuthClientSpec struct {
	// GrantTypes are the OAuth 2.0 grants that the client may use: password,
	// client_credentials or refresh_token, each at most once.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	GrantTypes []GrantType `json:"grantTypes"`

	// Scopes are the scope tokens that the client may request. An empty
	// list lets the client request no scope at all.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	Scopes []Scope `json:"scopes,omitempty"`

	// Audiences become the "aud" claim of the client's access tokens.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Audiences []Audience `json:"audiences"`

	// Public marks a client without a secret, such as a command-line tool
	// or a single-page app, which authenticates with its client_id alone.
	// A public client may not use client_credentials.
	// +optional
	Public bool `json:"public,omitempty"`

	// AccessTokenTTL is the access token lifetime, a Go duration such as
	// "10m" of more than 0s and at most 24h. When it is omitted, the issuer's
	// default applies.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="accessTokenTTL must be from 1m to 24h, such as 10m"
	AccessTokenTTL *metav1.Duration `json:"accessTokenTTL,omitempty"`

	// RefreshTokenTTL is the absolute lifetime of a login's refresh tokens,
	// a Go duration of more than 0s and at most 720h. When it is omitted,
	// the issuer's default applies. Only a client with the refresh_token
	// grant uses it.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('720h')",message="refreshTokenTTL must be from 1m to 720h, such as 24h"
	RefreshTokenTTL *metav1.Duration `json:"refreshTokenTTL,omitempty"`

	// RefreshTokenIdleTTL ends a login whose refresh token goes unused for
	// this long, before its absolute RefreshTokenTTL. It is a Go duration of
	// more than 0s and at most 720h, and not more than RefreshTokenTTL when
	// both are set. When it is omitted, only the absolute lifetime applies.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('720h')",message="refreshTokenIdleTTL must be from 1m to 720h, such as 8h"
	RefreshTokenIdleTTL *metav1.Duration `json:"refreshTokenIdleTTL,omitempty"`

	// SecretName is the name of the credentials Secret that the controller
	// writes into the resource's namespace, a DNS-1123 subdomain. When it
	// is omitted, the controller uses the resource name followed by
	// "-oauth".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName,omitempty"`

	// SecretRotation replaces the client secret on a schedule. When it is
	// omitted, the secret never rotates on its own. A public client has no
	// secret and may not set it.
	// +optional
	SecretRotation *SecretRotation `json:"secretRotation,omitempty"`
}

// SecretRotation is a client secret rotation schedule. Every Interval the
// controller issues a new secret, and the old one keeps working for Overlap
// so that workloads can pick up the new one.
// +kubebuilder:validation:XValidation:rule="duration(self.overlap) < duration(self.interval)",message="secretRotation.overlap must be shorter than secretRotation.interval, so that at most two secrets are valid at once: shorten overlap, or lengthen interval"
type SecretRotation struct {
	// Interval is the time between two rotations, a Go duration of at
	// least 1h.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h')",message="secretRotation.interval must be at least 1h: lengthen it, such as to 720h"
	Interval metav1.Duration `json:"interval"`

	// Overlap is how long the previous secret keeps working after a
	// rotation, a Go duration of more than 0s and less than Interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="secretRotation.overlap must be more than 0s, or workloads would fail until they reread the new secret: set it, such as to 24h"
	Overlap metav1.Duration `json:"overlap"`
}

// OAuthClientStatus is the state of the client as the controller last
// provisioned it.
type OAuthClientStatus struct {
	// Conditions are the latest observations of the client's state. The
	// Ready condition is True once the credentials Secret and the issuer's
	// registration match the spec.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// ObservedGeneration is the metadata.generation that the controller
	// last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// ClientID is the client_id with which the issuer registers this client.
	// +optional
	ClientID string `json:"clientID,omitempty"`

	// SecretName is the name of the credentials Secret that the controller
	// wrote into the resource's namespace.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// LastRotationTime is when the controller last issued a new client
	// secret.
	// +optional
	LastRotationTime *metav1.Time `json:"lastRotationTime,omitempty"`
}

// OAuthClient registers an OAuth 2.0 client with the Gatehouse issuer. The
// controller writes the client's credentials into a Secret in the same
// namespace and reports progress in status.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=oac,categories=gatehouse
// +kubebuilder:printcolumn:name="Client ID",type=string,JSONPath=`.status.clientID`
// +kubebuilder:printcolumn:name="Grants",type=string,JSONPath=`.spec.grantTypes`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="has(self.spec.secretName) || size(self.metadata.name) <= 247",message="metadata.name is too long for the default Secret name, which appends -oauth: use a name of at most 247 characters, or set spec.secretName"
type OAuthClient struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the client that the app team requests.
	Spec OAuthClientSpec `json:"spec"`

	// Status is the controller's latest report on the client.
	// +optional
	Status OAuthClientStatus `json:"status,omitempty"`
}

// CredentialsSecretName returns the name of the credentials Secret of c:
// spec.secretName when it is set, otherwise the resource name followed by
// SecretNameSuffix.
func (c *OAuthClient) CredentialsSecretName() string {
	if c.Spec.SecretName != "" {
		return c.Spec.SecretName
	}
	return c.Name + SecretNameSuffix
}

// OAuthClientList is a list of OAuthClient resources.
//
// +kubebuilder:object:root=true
type OAuthClientList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the OAuthClient resources of the list.
	Items []OAuthClient `json:"items"`
}
