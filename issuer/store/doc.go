// Package store keeps the issuer's refresh tokens: the RefreshStore
// interface and an in-memory implementation.
//
// A store never receives a refresh token itself, only its SHA-256 hash, so a
// copy of the store cannot be used to mint tokens. Every token belongs to a
// family: the chain of tokens that one login produced through rotation.
// Presenting a token that was already rotated means that two parties hold
// the same family, so the issuer revokes the whole family. This is refresh
// token rotation with reuse detection.
//
// This package must not import the issuer package, extauthz or any
// Kubernetes package.
package store
