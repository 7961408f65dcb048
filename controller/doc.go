// Package controller holds the Kubernetes controller that turns
// OAuthClient resources (package api/v1alpha1) into credentials Secrets and
// issuer registrations (OAuthClientReconciler), and rotates client
// secrets with an overlap in which the previous secret still works. It
// keeps a copy of each client secret in an escrow Secret in Gatehouse's
// namespace, from which it restores a deleted or edited credentials
// Secret without issuing a new secret. Its
// SigningKeyReconciler keeps the key-set Secret from which the issuer signs
// tokens, and rotates the keys as internal/keyset plans it. It also holds
// the RBAC markers from which controller-gen generates config/rbac,
// and the test that fails when the generated files under config/ or api/
// are out of date.
//
// A registration Secret holds a client file in the format of issuer/clients
// under the key clients.yaml, so this package imports issuer/clients for the
// client model, its validation and HashSecret.
//
// cmd/gatehouse must not import this package or its subpackages, so that
// the binary that serves ext_authz stays free of Kubernetes packages. This
// package must not import extauthz.
package controller
