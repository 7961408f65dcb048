// Package extauthz is Gatehouse's Envoy external-authorization server. It
// owns the decision for every request in the mesh. It reads the bearer token
// (RFC 6750) and verifies it as an RFC 9068 JWT access token against the key
// sets of the trusted issuers. Then it applies the route's requirements, and
// allows with identity headers or denies with the status and
// WWW-Authenticate header of RFC 6750 §3.
//
// It serves the decision two ways with the same rules: the gRPC
// envoy.service.auth.v3.Authorization service (Register) and a plain HTTP
// check endpoint for Envoy's HTTP mode, nginx auth_request and Traefik
// forwardAuth (HTTPHandler). It also owns the caches on that path: the
// per-issuer key sets (discovered through RFC 8414 metadata, refreshed in the
// background and on an unknown "kid") and the verified-token cache.
//
// This package must not import issuer, controller or any Kubernetes package:
// it runs on the hot path of every request, also as a sidecar, and learns
// about the issuer only through its published metadata and JWKS.
package extauthz
