// Command localapiserver runs etcd and kube-apiserver on loopback, writes
// an administrator kubeconfig, and waits for Ctrl-C. It lets you try the controller, the issuer's Kubernetes mode
// and the Helm chart on a machine without a cluster. It uses the binaries
// that hack/install-kube-tools.sh builds; no kubelet runs, so Deployments
// are accepted but start no pods.
//
// Usage:
//
//	eval "$(hack/install-kube-tools.sh --print-env)"
//	go run ./hack/localapiserver -kubeconfig-out /tmp/gatehouse.kubeconfig
//
// It installs no CRD, so that `helm install` of the chart can own the
// OAuthClient CRD. Without the chart, add -crds config/crd/bases.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	// controller-runtime defines -kubeconfig on the default flag set, so
	// this command uses its own.
	fs := flag.NewFlagSet("localapiserver", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig-out", "gatehouse.kubeconfig", "where to write the administrator kubeconfig")
	crds := fs.String("crds", "", "folder of CRDs to install, such as "+filepath.Join("config", "crd", "bases")+`; "" installs none, which leaves the CRD to the Helm chart`)
	_ = fs.Parse(os.Args[1:])
	if err := run(*kubeconfig, *crds); err != nil {
		fmt.Fprintf(os.Stderr, "localapiserver: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig, crds string) error {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return fmt.Errorf(`KUBEBUILDER_ASSETS is not set; run eval "$(hack/install-kube-tools.sh --print-env)" first`)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	if crds != "" {
		env.CRDDirectoryPaths = []string{crds}
		env.ErrorIfCRDPathMissing = true
	}
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("start the API server: %w", err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "localapiserver: stop: %v\n", err)
		}
	}()
	if err := writeKubeconfig(env, kubeconfig); err != nil {
		return err
	}
	fmt.Printf("API server %s is running; kubeconfig written to %s.\n", env.Config.Host, kubeconfig)
	fmt.Println("Press Ctrl-C to stop it; its data is deleted then.")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// writeKubeconfig adds a user in the system:masters group and writes its
// kubeconfig to path, readable by the owner only.
func writeKubeconfig(env *envtest.Environment, path string) error {
	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add the administrator: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("encode the kubeconfig: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write the kubeconfig: %w", err)
	}
	return nil
}
