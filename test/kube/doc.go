// Package kube holds the end-to-end tests of Gatehouse on a real Kubernetes
// API server. envtest starts etcd and kube-apiserver with the binaries that
// hack/install-kube-tools.sh builds (KUBEBUILDER_ASSETS). The tests run
// `gatehouse controller`, `gatehouse issuer --kubernetes` and
// `gatehouse extauthz` as processes against it, each controller and issuer
// as its own user with the RBAC that config/rbac and the chart grant.
//
// It also holds the benchmark that applies 1000 OAuthClients and measures
// how long the controller and the issuer take to load them all.
package kube
