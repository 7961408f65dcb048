package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/issuer"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// devOptions are the flags of `gatehouse dev`.
type devOptions struct {
	issuerListen string
	issuerURL    string
	adminListen  string
	usersFile    string
	clientsFile  string
	audiences    cli.StringList
	demo         demoAccounts
	key          signingKeyOptions
	extauthz     extauthzOptions
	log          cli.LogOptions
}

// The demo credentials. They are public, in the README, and fit a laptop only.
const (
	defaultDemoPassword = "demo"
	defaultDemoSecret   = "demo-secret"
)

// demoAccounts are the user and client that `gatehouse dev` creates when
// no users or clients file is given.
type demoAccounts struct {
	username     string
	password     string
	clientID     string
	clientSecret string
	scopes       string
}

func (o *devOptions) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.issuerListen, "issuer-listen", "127.0.0.1:8080", "address of the issuer")
	fs.StringVar(&o.issuerURL, "issuer-url", "", "issuer identifier (default: http://<--issuer-listen>)")
	fs.StringVar(&o.adminListen, "admin-listen", "127.0.0.1:9003", "address of /healthz, /readyz and /metrics")
	fs.StringVar(&o.usersFile, "users-file", "", "YAML users file that replaces the demo user")
	fs.StringVar(&o.clientsFile, "clients-file", "", "YAML clients file that replaces the demo client")
	fs.Var(&o.audiences, "audience", `audience of the demo client's tokens, and the audience the check accepts; repeat or separate with commas (default "demo-api")`)
	fs.StringVar(&o.demo.username, "demo-username", "demo", "username of the demo user")
	fs.StringVar(&o.demo.password, "demo-password", defaultDemoPassword, "password of the demo user")
	fs.StringVar(&o.demo.clientID, "demo-client-id", "demo-client", "client ID of the demo client")
	fs.StringVar(&o.demo.clientSecret, "demo-client-secret", defaultDemoSecret, "client secret of the demo client")
	fs.StringVar(&o.demo.scopes, "demo-scopes", "openid profile orders:read orders:write", "space-separated scopes the demo client may request")
	o.key.addFlags(fs)
	o.extauthz.addServerFlags(fs, "extauthz-config-file")
	o.log.AddFlags(fs)
}

func runDev(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var o devOptions
	fs := cli.NewFlagSet("dev", "Runs the issuer and the ext_authz server in one process on this machine, with a generated signing key and a demo user and client.", stderr)
	o.addFlags(fs)
	if err := cli.Parse(fs, args, nil); err != nil {
		return err
	}
	if len(o.audiences) == 0 {
		o.audiences = cli.StringList{"demo-api"}
	}
	if o.issuerURL == "" {
		o.issuerURL = "http://" + o.issuerListen
	}
	log, err := o.log.NewLogger(stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tasks, err := o.start(ctx, log)
	if err != nil {
		return err
	}
	o.printWelcome(stdout)
	return runAll(ctx, tasks...)
}

// start builds the issuer and the ext_authz server and returns their
// servers as tasks.
func (o *devOptions) start(ctx context.Context, log *slog.Logger) ([]task, error) {
	reg := newRegistry()
	issuerTask, err := o.startIssuer(ctx, log, reg)
	if err != nil {
		return nil, err
	}
	cfg, err := o.extauthz.config()
	if err != nil && o.extauthz.configFile != "" {
		return nil, err
	}
	cfg.Issuers = append(cfg.Issuers, extauthz.IssuerConfig{
		Issuer:            o.issuerURL,
		Audiences:         o.audiences,
		RevocationFeedURI: o.issuerURL + "/oauth2/revocations",
	})
	cfg.Logger, cfg.Metrics = log, reg
	srv, tasks, err := o.extauthz.start(ctx, log, cfg)
	if err != nil {
		return nil, err
	}
	admin, err := adminTask(ctx, log, o.adminListen, reg, extauthzReadiness(srv), nil)
	if err != nil {
		return nil, err
	}
	return append(tasks, issuerTask, admin), nil
}

func (o *devOptions) startIssuer(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (task, error) {
	key, err := o.key.load(log, os.ReadFile)
	if err != nil {
		return nil, err
	}
	clientSource, err := o.clients(ctx, log)
	if err != nil {
		return nil, err
	}
	userStore, err := o.users(ctx, log)
	if err != nil {
		return nil, err
	}
	srv, err := issuer.New(issuer.Config{
		Issuer: o.issuerURL, Signer: key, Clients: clientSource, Users: userStore, Logger: log, Metrics: reg,
	})
	if err != nil {
		return nil, err
	}
	return httpTask(ctx, log, "issuer", o.issuerListen, srv.Handler(), srv.CloseStreams)
}

func (o *devOptions) clients(ctx context.Context, log *slog.Logger) (issuer.ClientSource, error) {
	if o.clientsFile != "" {
		return clients.WatchFile(ctx, o.clientsFile, defaultReloadInterval, log)
	}
	return clients.NewStatic([]clients.Client{{
		ID:           o.demo.clientID,
		SecretHashes: []string{clients.HashSecret(o.demo.clientSecret)},
		GrantTypes:   clients.GrantTypes,
		Scopes:       strings.Fields(o.demo.scopes),
		Audiences:    o.audiences,
	}})
}

func (o *devOptions) users(ctx context.Context, log *slog.Logger) (issuer.UserStore, error) {
	if o.usersFile != "" {
		return users.WatchFile(ctx, o.usersFile, defaultReloadInterval, log)
	}
	hash, err := users.HashPassword(o.demo.password)
	if err != nil {
		return nil, err
	}
	return users.NewStatic([]users.User{{Username: o.demo.username, PasswordHash: hash, Email: o.demo.username + "@example.com", Groups: []string{"demo"}}})
}

// printWelcome prints which server listens where, and curl commands to try them.
func (o *devOptions) printWelcome(w io.Writer) {
	tokenURL := o.issuerURL + "/oauth2/token"
	fmt.Fprintf(w, `Gatehouse dev stack
  issuer          %s  (token endpoint %s)
  ext_authz gRPC  %s
  HTTP check      %s
  health/metrics  %s
  The check accepts tokens of this issuer with the audience %s (set with --audience).
`, o.issuerURL, tokenURL, o.extauthz.grpcListen, o.extauthz.httpListen, o.adminListen, strings.Join(o.audiences, " or "))
	if o.clientsFile != "" || o.usersFile != "" {
		fmt.Fprintln(w, "\nUsers or clients come from the files given. Give the clients the audience above,\nor list theirs with --audience, so that the check accepts their tokens.")
		return
	}
	fmt.Fprintf(w, `
Get a token for the demo user:
  TOKEN=$(curl -s -u %s:%s -d grant_type=password -d username=%s -d password=%s %s \
    | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

Check a request with it:
  curl -si -H "Authorization: Bearer $TOKEN" http://%s/orders/42
`, o.demo.clientID, shown(o.demo.clientSecret, defaultDemoSecret, "$CLIENT_SECRET"), o.demo.username,
		shown(o.demo.password, defaultDemoPassword, "$PASSWORD"), tokenURL, o.extauthz.httpListen)
}

// shown returns value when it is the built-in default, which the README
// prints anyway, and a shell variable otherwise, so that a chosen secret
// never lands in a terminal log.
func shown(value, builtin, variable string) string {
	if value == builtin {
		return value
	}
	return variable
}
