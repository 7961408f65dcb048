// Package chart holds the tests of the Helm chart in charts/gatehouse. They
// run helm lint and compare `helm template` output with snapshots. They
// check the security defaults and RBAC of every rendered workload,
// values.schema.json, and the flags and configuration files that the chart
// passes to the gatehouse binaries. One test installs the chart into a real
// kube-apiserver started by envtest.
//
// The tests read HELM (the helm binary) and KUBEBUILDER_ASSETS (etcd and
// kube-apiserver), which `make test` sets from hack/install-kube-tools.sh.
// With -short and the variable unset, a test that needs it skips.
//
// Run `go test ./test/chart -run Snapshot -update` to write the snapshots
// in testdata again after a chart change, and review their diff.
//
// The package holds tests only. Nothing may import it. It may import
// extauthz, whose parser checks the rendered configuration file.
package chart
