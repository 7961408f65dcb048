// Package clients defines the OAuth 2.0 clients that the issuer accepts, and
// the sources that supply them: a YAML file that is reloaded when it changes,
// and a fixed list for development.
//
// # File format
//
// A client file is a YAML document with one top-level key, "clients":
//
//	clients:
//	  - clientID: demo-client
//	    secretHashes: ["sha256:<64 hex digits>"]
//	    public: false
//	    grantTypes: [password, client_credentials, refresh_token]
//	    scopes: [openid, profile, orders:read, orders:write]
//	    audiences: [demo-api]
//	    accessTokenTTL: 10m
//	    refreshTokenTTL: 24h
//
// clientID is required and unique. secretHashes lists the SHA-256 digests of
// the client's valid secrets in lowercase or uppercase hex, each prefixed with
// "sha256:". Several are allowed, so that a new secret can be rolled out while
// the old one still works. A public client has no secret hashes and may not
// use client_credentials. grantTypes must be non-empty and contain only
// password, client_credentials and refresh_token. scopes are RFC 6749 §3.3
// scope tokens. audiences, the "aud" claim of the client's access tokens, is
// required. The TTLs are Go durations and fall back to the issuer's defaults
// when omitted. Unknown and duplicate fields are rejected.
//
// This package must not import the issuer package, extauthz or any
// Kubernetes package.
package clients
