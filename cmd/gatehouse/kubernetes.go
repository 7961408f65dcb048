package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/keyset"
	"github.com/gatehouse-dev/gatehouse/internal/kube"
	"github.com/gatehouse-dev/gatehouse/internal/serve"
	"github.com/gatehouse-dev/gatehouse/issuer/kubesource"
)

// kubernetesOptions are the flags with which the issuer reads its clients
// and signing keys from Kubernetes Secrets.
type kubernetesOptions struct {
	enabled           bool
	kubeconfig        string
	namespace         string
	signingKeysSecret string
}

func (o *kubernetesOptions) addFlags(fs *flag.FlagSet) {
	fs.BoolVar(&o.enabled, "kubernetes", false, "read the clients from registration Secrets and the signing keys from the key-set Secret in --namespace, and apply their changes while running; replaces --clients-file, --signing-key-file and --signing-algorithm")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file for --kubernetes (default: the pod's service account)")
	fs.StringVar(&o.namespace, "namespace", "", "namespace of the Secrets for --kubernetes (default: the namespace of the service account, or of the kubeconfig's current context)")
	fs.StringVar(&o.signingKeysSecret, "signing-keys-secret", keyset.DefaultSecretName, "name of the key-set Secret for --kubernetes")
}

// open connects to the API server and returns the source of the Secrets,
// which starts watching when its Run is called.
func (o *kubernetesOptions) open(log *slog.Logger, reg prometheus.Registerer) (*kubesource.Source, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	namespace := cmp.Or(o.namespace, cfg.Namespace)
	if namespace == "" {
		return nil, errors.New("--namespace is required: neither the service account nor the kubeconfig context names a namespace")
	}
	client, err := kube.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	src, err := kubesource.New(kubesource.Options{
		Client:            client,
		Namespace:         namespace,
		SigningKeysSecret: o.signingKeysSecret,
		Logger:            log,
		Metrics:           reg,
	})
	if err != nil {
		return nil, err
	}
	log.Info("reading clients and signing keys from Kubernetes Secrets",
		"server", cfg.Server, "namespace", namespace, "signingKeysSecret", o.signingKeysSecret)
	return src, nil
}

// config loads --kubeconfig, or the pod's service account without it.
func (o *kubernetesOptions) config() (*kube.Config, error) {
	if o.kubeconfig != "" {
		cfg, err := kube.LoadKubeconfig(o.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
		return cfg, nil
	}
	cfg, err := kube.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("--kubernetes without --kubeconfig: %w", err)
	}
	return cfg, nil
}

// bothReady returns the readiness of a process that needs a and b: ready
// when both are, with the warnings of both.
func bothReady(a, b serve.Readiness) serve.Readiness {
	return serve.Readiness{
		Ready: func() bool {
			return (a.Ready == nil || a.Ready()) && (b.Ready == nil || b.Ready())
		},
		Warnings: func() []string {
			var warnings []string
			for _, r := range []serve.Readiness{a, b} {
				if r.Warnings != nil {
					warnings = append(warnings, r.Warnings()...)
				}
			}
			return warnings
		},
	}
}
