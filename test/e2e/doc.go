// Package e2e holds the end-to-end tests: they build the gatehouse binary,
// start it with real peers (nginx in front of a small upstream, a gRPC
// client shaped like Envoy), and check what a client and an upstream see.
//
// The tests need nginx with the auth_request module on PATH or in
// /usr/sbin; hack/install-test-deps.sh installs it.
package e2e
