// Package kubesource supplies the issuer's clients and signing keys from
// the Secrets that the Gatehouse controller writes into Gatehouse's
// namespace, and applies every change while the issuer runs.
//
// It lists and watches the Secrets with the label gatehouse.dev/registration
// through internal/kube. A Secret whose label value is "client" registers
// the clients in its data key clients.yaml, in the client file format of
// issuer/clients. The clients of all such Secrets are merged. An invalid
// Secret is logged and skipped while the others stay, and a client ID that
// two Secrets register belongs to the Secret whose name sorts first. The
// Secret named by Options.SigningKeysSecret, labelled "signing-keys", holds
// the key set of internal/keyset. A missing or invalid version of it keeps
// the last good keys.
//
// This package must not import k8s.io modules, controller-runtime,
// controller or extauthz, because cmd/gatehouse links it.
package kubesource
