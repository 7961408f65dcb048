// Package kube is a small client of the Kubernetes API that lists and
// watches the Secrets of one namespace. The issuer uses it to learn its
// clients and signing keys without a restart.
//
// It loads its connection settings from a kubeconfig file or from the
// service account of the pod it runs in. Over plain HTTP and JSON it
// implements the list-then-watch protocol of client-go's informers. It sends
// a paginated LIST, then a WATCH from the list's resourceVersion with
// bookmarks. When the server ends a WATCH, it starts another from the last
// resourceVersion seen, and when the server returns 410 Gone, it lists again.
//
// It exists because linking client-go into the gatehouse binary roughly
// doubles the idle memory of every subcommand, ext_authz included. This
// package must therefore not import k8s.io/* modules, controller-runtime,
// or any Gatehouse part (issuer, extauthz, controller).
package kube
