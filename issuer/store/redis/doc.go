// Package redis is a store.Store in Redis, for issuers that run as several
// replicas: they share refresh tokens, access-token revocations and login
// failure counters, and a restart of an issuer loses nothing.
//
// The client comes from go-redis's NewUniversalClient, so one address
// selects a single server, several a Cluster, and a master name Sentinel.
// Every key starts with a configurable prefix P:
//
//	P tok:<hash>             string: family ID of a token, the index for Get
//	P {fam:<id>}:tokens      hash: token hash -> state, expiry and record
//	P {fam:<id>}:exp         sorted set: token hash by expiry, for the sweep
//	P {sub:<subject>}        set: family IDs of a subject
//	P {rev}:seq, :log, :exp, :data, :jti
//	                         the revocation cursor counter, cursor order,
//	                         expiry order, records and the jti index
//	P {rev}:sub:<subject>    hash: latest revocation time and latest expiry
//	                         of the subject's access tokens
//	P fail:<key>             hash: failure count and window end
//
// Each Lua script touches only keys with one hash tag (the part in braces),
// so that in a Cluster they live in one slot and the script runs atomically
// on one node. Rotation and reuse detection are one script on the family's
// keys. Keys of tokens, failure windows and revoked subjects expire
// through Redis TTLs, which the store computes from the caller's clock.
// Expired revocations are removed by the script that adds a new one.
//
// A Put or Rotate writes the token index and the subject set before the
// family, in separate commands because they live in other slots. A crash
// in between leaves an index entry or a set member that points to nothing,
// which reads as an unknown token, and never a token that RevokeSubject
// misses.
//
// This package must not import the issuer, extauthz or any Kubernetes
// package.
package redis
