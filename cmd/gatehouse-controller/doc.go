// Command gatehouse-controller runs Gatehouse's Kubernetes controller: a
// controller-runtime manager with the OAuthClient and signing-key
// reconcilers of package controller, leader election on a Lease, health and
// readiness probes, and Prometheus metrics. `gatehouse controller` runs this
// binary with the same arguments.
//
// This command owns the flags and the wiring of the manager; the
// reconcilers live in package controller. It is a binary of its own so that
// cmd/gatehouse, which serves ext_authz, links no Kubernetes client
// packages. Nothing imports it, and it must not import issuer or extauthz.
package main
