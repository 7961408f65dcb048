// Package jose holds the JSON Web Key handling that the issuer and the
// ext_authz server share: generating and loading asymmetric signing keys,
// computing RFC 7638 key IDs, and encoding and parsing RFC 7517 key sets.
//
// Only asymmetric algorithms exist here (ES256, RS256, EdDSA). A parsed key
// carries exactly one algorithm, so a verifier never takes the algorithm
// from a token header. This package must not import issuer, extauthz or any
// Kubernetes package.
package jose
