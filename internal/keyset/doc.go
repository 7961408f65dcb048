// Package keyset owns the key-set document in the signing-key Secret (data
// key keys.json), which the controller writes and the issuer reads. It
// parses and validates the document, encodes it, and decides with Plan, a
// pure function, when to add, promote and drop keys.
//
// A set holds one active key that signs, at most one next key that is
// published before it signs, and any number of retiring keys that stay
// published until every token they signed has expired.
//
// This package must not import Kubernetes packages, issuer, extauthz or
// controller, because the issuer and the controller both use it.
package keyset
