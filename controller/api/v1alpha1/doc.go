// Package v1alpha1 contains the gatehouse.dev/v1alpha1 API: the OAuthClient
// resource with which an app team registers an OAuth 2.0 client with the
// Gatehouse issuer.
//
// The Go types carry the kubebuilder markers from which controller-gen
// generates the CustomResourceDefinition in config/crd/bases and the deep
// copy functions in zz_generated.deepcopy.go (`make manifests generate`).
// The API server enforces the schema and the CEL rules of those markers on
// every write, so the controller receives only specs that pass them. The rules
// mirror the issuer's own client checks (issuer/clients), and the package
// tests run them against a real kube-apiserver.
//
// This package may import only the Kubernetes API machinery
// (k8s.io/apimachinery). It must not import controller-runtime or the
// issuer, extauthz or controller packages, so that any program can decode
// the resource without pulling in a Gatehouse part.
//
// +kubebuilder:object:generate=true
// +groupName=gatehouse.dev
package v1alpha1
