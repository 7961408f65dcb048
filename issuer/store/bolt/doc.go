// Package bolt is a store.Store in one bbolt file, for an issuer that runs
// as a single replica: refresh tokens, access-token revocations and login
// failure counters survive a restart.
//
// Every change that writes several keys does so in one bbolt transaction,
// so a crash leaves either all of it or none. The file holds these buckets:
//
//	tokens       token hash -> record.Token JSON
//	families     one nested bucket per family ID: token hash -> empty
//	subjects     one nested bucket per subject: family ID -> empty
//	expiry       expiry (8 bytes, Unix nanoseconds) | kind | ID -> empty
//	revocations  cursor (8 bytes) -> store.Revocation JSON
//	revokedJTI   jti -> cursor
//	failures     key -> record.Failures JSON
//	revokedSubjects  subject -> latest revocation, latest expiry (Unix ns, 8 bytes each)
//
// The expiry bucket orders every record that expires by its expiry, so a
// sweep reads only what has expired. Put, RevokeAccessToken,
// RevokeSubjectAccessTokens and RecordFailure sweep at most once per
// Options.SweepInterval of the caller's clock, and Sweep does it on demand.
//
// This package must not import the issuer, extauthz or any Kubernetes
// package.
package bolt
