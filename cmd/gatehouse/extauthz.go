package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse-dev/gatehouse/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/internal/serve"
)

// authorizationService is the gRPC service name Envoy calls, reported by
// the health service.
const authorizationService = "envoy.service.auth.v3.Authorization"

// readinessPoll is how often the gRPC health status follows Server.Ready.
const readinessPoll = time.Second

// extauthzOptions are the flags of `gatehouse extauthz`, and the ext_authz
// part of `gatehouse dev`.
type extauthzOptions struct {
	grpcListen    string
	httpListen    string
	configFile    string
	issuerURL     string
	audiences     cli.StringList
	jwksURI       string
	jwksFile      string
	feedURI       string
	leeway        time.Duration
	cacheSize     int
	maxTokenBytes int
}

// addServerFlags registers the flags that `gatehouse dev` shares; the name
// of the configuration-file flag differs between the two commands.
func (o *extauthzOptions) addServerFlags(fs *flag.FlagSet, configFlag string) {
	fs.StringVar(&o.grpcListen, "grpc-listen", "127.0.0.1:9001", "address of the gRPC Check and health services (use 0.0.0.0:9001 in a container)")
	fs.StringVar(&o.httpListen, "http-listen", "127.0.0.1:9002", `address of the HTTP check for nginx, Traefik and Envoy's HTTP mode; "" turns it off`)
	fs.StringVar(&o.configFile, configFlag, "", "YAML file with trusted issuers, route rules and header names (see docs/extauthz-config.md)")
	fs.DurationVar(&o.leeway, "leeway", 0, "allowed clock skew for exp, nbf and iat, as a Go duration (default: the config file's, else 30s)")
	fs.IntVar(&o.cacheSize, "cache-size", 0, "number of verified tokens kept in memory; -1 turns the cache off (default: the config file's, else 10000)")
	fs.IntVar(&o.maxTokenBytes, "max-token-bytes", 0, "largest bearer token accepted, in bytes (default: the config file's, else 8192)")
}

// addIssuerFlags registers the flags that name one trusted issuer.
func (o *extauthzOptions) addIssuerFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.issuerURL, "issuer-url", "", "a trusted issuer, added to those of --config-file")
	fs.Var(&o.audiences, "audience", "audience accepted from --issuer-url; repeat the flag or separate with commas")
	fs.StringVar(&o.jwksURI, "jwks-uri", "", "JWKS URL of --issuer-url (default: read from its RFC 8414 metadata)")
	fs.StringVar(&o.jwksFile, "jwks-file", "", "local JWKS file for --issuer-url instead of fetching keys")
	fs.StringVar(&o.feedURI, "revocation-feed-uri", "", "revocation feed of --issuer-url, such as https://auth.example.com/oauth2/revocations; revoked access tokens are denied within about a second (default: revocations are not followed)")
}

// config merges the configuration file and the flags.
func (o *extauthzOptions) config() (extauthz.Config, error) {
	var cfg extauthz.Config
	if o.configFile != "" {
		fc, err := extauthz.LoadConfigFile(o.configFile)
		if err != nil {
			return cfg, err
		}
		cfg = fc.Config()
	}
	if o.issuerURL != "" {
		cfg.Issuers = append(cfg.Issuers, extauthz.IssuerConfig{
			Issuer: o.issuerURL, Audiences: o.audiences, JWKSURI: o.jwksURI, JWKSFile: o.jwksFile,
			RevocationFeedURI: o.feedURI,
		})
	}
	if len(cfg.Issuers) == 0 {
		return cfg, errors.New("no trusted issuer: set --issuer-url and --audience, or list issuers in --config-file")
	}
	if o.leeway != 0 {
		cfg.Leeway = o.leeway
	}
	if o.cacheSize != 0 {
		cfg.CacheSize = o.cacheSize
	}
	if o.maxTokenBytes != 0 {
		cfg.MaxTokenBytes = o.maxTokenBytes
	}
	return cfg, nil
}

// start builds the ext_authz server and returns it with its gRPC and HTTP
// servers as tasks, their listeners already open.
func (o *extauthzOptions) start(ctx context.Context, log *slog.Logger, cfg extauthz.Config) (*extauthz.Server, []task, error) {
	srv, err := extauthz.New(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	g := newGRPCServer(srv)
	l, err := serve.Listen(ctx, "extauthz-grpc", o.grpcListen)
	if err != nil {
		return nil, nil, err
	}
	tasks := []task{
		func(ctx context.Context) error { return serve.GRPC(ctx, log, "extauthz-grpc", l, g.Server) },
		func(ctx context.Context) error { followReadiness(ctx, g.health, srv.Ready); return nil },
	}
	if o.httpListen != "" {
		t, err := httpTask(ctx, log, "extauthz-http", o.httpListen, srv.HTTPHandler())
		if err != nil {
			return nil, nil, err
		}
		tasks = append(tasks, t)
	}
	return srv, tasks, nil
}

// checkServer is a gRPC server with the Check and health services.
type checkServer struct {
	*grpc.Server
	health *health.Server
}

// newGRPCServer returns the gRPC server that carries Check and the health
// service, with the options extauthz recommends.
func newGRPCServer(srv *extauthz.Server) checkServer {
	g := grpc.NewServer(extauthz.ServerOptions()...)
	srv.Register(g)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	hs.SetServingStatus(authorizationService, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(g, hs)
	return checkServer{Server: g, health: hs}
}

// followReadiness sets the gRPC health status from ready until ctx ends.
func followReadiness(ctx context.Context, hs *health.Server, ready func() bool) {
	ticker := time.NewTicker(readinessPoll)
	defer ticker.Stop()
	for {
		status := healthpb.HealthCheckResponse_NOT_SERVING
		if ready() {
			status = healthpb.HealthCheckResponse_SERVING
		}
		hs.SetServingStatus("", status)
		hs.SetServingStatus(authorizationService, status)
		select {
		case <-ctx.Done():
			hs.Shutdown()
			return
		case <-ticker.C:
		}
	}
}

func runExtAuthz(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	var (
		o           extauthzOptions
		logOpts     cli.LogOptions
		adminListen string
	)
	fs := cli.NewFlagSet("extauthz", "Runs the Envoy external-authorization server: gRPC Check and the HTTP check.", stderr)
	o.addServerFlags(fs, "config-file")
	o.addIssuerFlags(fs)
	logOpts.AddFlags(fs)
	fs.StringVar(&adminListen, "admin-listen", "127.0.0.1:9003", "address of /healthz, /readyz and /metrics")
	if err := cli.Parse(fs, args, nil); err != nil {
		return err
	}
	log, err := logOpts.NewLogger(stderr)
	if err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	reg := newRegistry()
	cfg.Logger, cfg.Metrics = log, reg
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, tasks, err := o.start(ctx, log, cfg)
	if err != nil {
		return err
	}
	admin, err := adminTask(ctx, log, adminListen, reg, extauthzReadiness(srv), nil)
	if err != nil {
		return err
	}
	return runAll(ctx, append(tasks, admin)...)
}

// extauthzReadiness is ready once every issuer's keys are loaded. A
// revocation feed that is down leaves it ready, because the revocations
// received so far stay enforced, but /readyz reports it.
func extauthzReadiness(srv *extauthz.Server) serve.Readiness {
	return serve.Readiness{
		Ready: srv.Ready,
		Warnings: func() []string {
			if srv.RevocationFeedsConnected() {
				return nil
			}
			return []string{"revocation feed not connected: enforcing the revocations received so far"}
		},
	}
}
