package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/serve"
)

func isHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }

// newRegistry returns a Prometheus registry with the Go runtime and process
// collectors, so every subcommand exports the same base metrics.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// task is one server of a process, run until its context ends.
type task func(ctx context.Context) error

// runAll runs the tasks until ctx ends or one of them fails, then stops the
// others and returns the first error.
func runAll(ctx context.Context, tasks ...task) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range tasks {
		g.Go(func() error { return t(gctx) })
	}
	return g.Wait()
}

// adminTask serves health, readiness and metrics on address, and the extra
// handlers by path pattern.
func adminTask(ctx context.Context, log *slog.Logger, address string, reg *prometheus.Registry, readiness serve.Readiness, extra map[string]http.Handler) (task, error) {
	l, err := serve.Listen(ctx, "admin", address)
	if err != nil {
		return nil, err
	}
	handler := serve.AdminHandler(reg, readiness)
	if len(extra) > 0 {
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		for pattern, h := range extra {
			mux.Handle(pattern, h)
		}
		handler = mux
	}
	return func(ctx context.Context) error {
		return serve.HTTP(ctx, log, "admin", l, handler)
	}, nil
}

// signingKeyOptions are the flags that choose the issuer's signing key.
type signingKeyOptions struct {
	file      string
	algorithm string
}

func (o *signingKeyOptions) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.file, "signing-key-file", "", "PEM file with the PKCS #8, SEC 1 or PKCS #1 private key that signs access tokens (default: generate a key at start, so tokens do not survive a restart)")
	fs.StringVar(&o.algorithm, "signing-algorithm", string(jose.ES256), "signature algorithm of the key in --signing-key-file, or of the generated key: ES256, RS256 or EdDSA")
}

// load reads the key file, or generates a key when no file is set.
func (o *signingKeyOptions) load(log *slog.Logger, readFile func(string) ([]byte, error)) (*jose.SigningKey, error) {
	alg, err := jose.ParseAlgorithm(o.algorithm)
	if err != nil {
		return nil, fmt.Errorf("--signing-algorithm: %w", err)
	}
	if o.file == "" {
		key, err := jose.GenerateKey(alg)
		if err != nil {
			return nil, err
		}
		log.Info("generated signing key", "kid", key.ID, "algorithm", string(alg))
		return key, nil
	}
	data, err := readFile(o.file)
	if err != nil {
		return nil, fmt.Errorf("read --signing-key-file: %w", err)
	}
	key, err := jose.ParsePrivateKeyPEM(data, alg)
	if err != nil {
		return nil, fmt.Errorf("--signing-key-file %s: %w", o.file, err)
	}
	log.Info("loaded signing key", "kid", key.ID, "algorithm", string(alg), "file", o.file)
	return key, nil
}

// defaultReloadInterval is how often the clients and users files are read
// again to pick up changes.
const defaultReloadInterval = 2 * time.Second
