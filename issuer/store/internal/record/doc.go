// Package record encodes the records that the persistent stores keep:
// refresh tokens, access-token revocations and failure windows, as JSON.
// The bolt and redis stores share it so that both keep the same fields.
//
// It imports only the store package and the standard library, and must not
// import the issuer, extauthz or any Kubernetes package.
package record
