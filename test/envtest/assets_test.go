package envtest

import (
	"os"
	"path/filepath"
	"testing"
)

// installHint is the command that installs the tools and sets the variables
// that a failing test needs.
const installHint = `run eval "$(hack/install-kube-tools.sh --print-env)" first (make test does)`

// requireExecutable fails the test unless path is an executable file.
func requireExecutable(t *testing.T, envName, path string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%s: %v; %s", envName, err, installHint)
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s: %s is not an executable file; %s", envName, path, installHint)
	}
}

// requireEnv returns the value of the environment variable name and fails
// the test when it is unset or empty.
func requireEnv(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		t.Fatalf("%s is not set; %s", name, installHint)
	}
	return value
}

// assetsDir returns KUBEBUILDER_ASSETS after checking that it contains the
// etcd and kube-apiserver binaries.
func assetsDir(t *testing.T) string {
	t.Helper()
	dir := requireEnv(t, "KUBEBUILDER_ASSETS")
	for _, name := range []string{"etcd", "kube-apiserver"} {
		requireExecutable(t, "KUBEBUILDER_ASSETS", filepath.Join(dir, name))
	}
	return dir
}

// helmBinary returns HELM after checking that it is an executable file.
func helmBinary(t *testing.T) string {
	t.Helper()
	path := requireEnv(t, "HELM")
	requireExecutable(t, "HELM", path)
	return path
}
