// Package issuer is Gatehouse's OAuth 2.0 authorization server. It owns the
// HTTP endpoints that issue and describe tokens:
//
//   - POST /oauth2/token, the RFC 6749 token endpoint, with the password,
//     client_credentials and refresh_token grants and client authentication
//     by client_secret_basic, client_secret_post or none (public clients);
//   - POST /oauth2/introspect (RFC 7662) and POST /oauth2/revoke
//     (RFC 7009), which let a client describe or revoke the access and
//     refresh tokens issued to it;
//   - GET /oauth2/jwks, the public signing keys as an RFC 7517 key set;
//   - GET /.well-known/oauth-authorization-server (RFC 8414) and
//     /.well-known/openid-configuration (OpenID Connect Discovery 1.0).
//
// Access tokens are JWTs in the RFC 9068 profile (internal/accesstoken).
// Refresh tokens are opaque, stored only as SHA-256 hashes, rotated on every
// use, and revoked with their whole family when a used one comes back.
//
// Clients, users and refresh tokens come from the subpackages clients,
// users and store, and signing keys from Config.Signer or a KeySource. In
// a cluster, the subpackage kubesource supplies both clients and keys from
// Kubernetes Secrets. This package must not import extauthz, controller, cmd
// or any Kubernetes package.
package issuer
