// Package storetest is the contract test suite that every store.Store
// implementation passes: Run checks refresh-token rotation with reuse
// detection, expiry, revocation of families and subjects, the access-token
// revocation feed, the lookup of subject revocations and the login-failure
// counters.
//
// It imports only the store package and the standard testing tools, and
// must not import the issuer, extauthz or any Kubernetes package.
package storetest
