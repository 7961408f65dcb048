// Package envtest holds the smoke tests of the Kubernetes test toolchain
// that hack/install-kube-tools.sh installs: a real kube-apiserver and etcd
// started on loopback by controller-runtime's envtest, and the helm binary.
// They prove the tools run before the controller and chart tests rely on
// them.
//
// The tests read KUBEBUILDER_ASSETS (a folder containing etcd and
// kube-apiserver) and HELM (the helm binary). They fail when either is unset
// or points at no executable file. `make test` sets both.
//
// The package holds tests only. Nothing may import it, and it must not
// import the gatehouse parts (extauthz, issuer, controller), so a failure
// here points at the toolchain alone.
package envtest
