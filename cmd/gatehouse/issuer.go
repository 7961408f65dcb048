package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/internal/serve"
	"github.com/gatehouse-dev/gatehouse/issuer"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// issuerOptions are the flags of `gatehouse issuer`.
type issuerOptions struct {
	listen          string
	adminListen     string
	issuerURL       string
	clientsFile     string
	usersFile       string
	reloadInterval  cli.PositiveDuration
	accessTokenTTL  cli.PositiveDuration
	refreshTokenTTL cli.PositiveDuration
	key             signingKeyOptions
	store           storeOptions
	lockout         issuer.LockoutPolicy
	// adminSubjectRevocation serves POST /admin/revoke-subject on the
	// admin address.
	adminSubjectRevocation bool
	ldap                   ldapOptions
	log                    cli.LogOptions
}

func (o *issuerOptions) addFlags(fs *flag.FlagSet) {
	o.reloadInterval = cli.PositiveDuration(defaultReloadInterval)
	o.accessTokenTTL = cli.PositiveDuration(issuer.DefaultAccessTokenTTL)
	o.refreshTokenTTL = cli.PositiveDuration(issuer.DefaultRefreshTokenTTL)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the token endpoint, metadata and JWKS (use 0.0.0.0:8080 in a container)")
	fs.StringVar(&o.adminListen, "admin-listen", "127.0.0.1:8081", "address of /healthz, /readyz and /metrics")
	fs.StringVar(&o.issuerURL, "issuer-url", "", `issuer identifier, the exact "iss" of every token and the base URL of the endpoints, such as https://auth.example.com (required)`)
	fs.StringVar(&o.clientsFile, "clients-file", "", "YAML file of registered clients, read again when it changes (required)")
	fs.StringVar(&o.usersFile, "users-file", "", "YAML file of users for the password grant, read again when it changes (default: no users)")
	fs.Var(&o.reloadInterval, "reload-interval", "how often the clients and users files are checked for changes, as a Go duration (default 2s)")
	fs.Var(&o.accessTokenTTL, "access-token-ttl", "access token lifetime for clients that set none, as a Go duration (default 10m)")
	fs.Var(&o.refreshTokenTTL, "refresh-token-ttl", "refresh token lifetime for clients that set none, as a Go duration (default 24h)")
	o.key.addFlags(fs)
	o.store.addFlags(fs, "embedded")
	fs.BoolVar(&o.adminSubjectRevocation, "admin-subject-revocation", false, "serve POST /admin/revoke-subject (form field subject) on --admin-listen, which ends every login of a user; it authenticates nobody, so keep that address private")
	fs.BoolVar(&o.lockout.Disabled, "lockout-disabled", false, "turn off the back-off and lockout of password guessing")
	fs.DurationVar(&o.lockout.Window, "lockout-window", 15*time.Minute, "how long failed password grants are counted, and the longest lock, as a Go duration")
	fs.IntVar(&o.lockout.LockAfter, "lockout-after", 10, "failed password grants of one username within the window that lock it")
	fs.IntVar(&o.lockout.LockAfterPerAddress, "lockout-after-per-address", 100, "failed password grants from one client address within the window that lock it")
	o.ldap.addFlags(fs)
	o.log.AddFlags(fs)
}

func runIssuer(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	var o issuerOptions
	fs := cli.NewFlagSet("issuer", "Runs the OAuth 2.0 authorization server: token endpoint, JWKS and RFC 8414 metadata.", stderr)
	o.addFlags(fs)
	if err := cli.Parse(fs, args, nil); err != nil {
		return err
	}
	if o.issuerURL == "" || o.clientsFile == "" {
		return errors.New("--issuer-url and --clients-file are required")
	}
	if o.usersFile != "" && o.ldap.enabled() {
		return errors.New("--users-file and --ldap-url both name a user store: use one")
	}
	log, err := o.log.NewLogger(stderr)
	if err != nil {
		return err
	}

	st, closer, err := o.store.open(ctx, log)
	if err != nil {
		return err
	}
	defer closeLogged(log, "store", closer)
	reg := newRegistry()
	srv, err := o.newServer(ctx, log, reg, st)
	if err != nil {
		return err
	}
	issuerTask, err := httpTask(ctx, log, "issuer", o.listen, srv.Handler(), srv.CloseStreams)
	if err != nil {
		return err
	}
	var extra map[string]http.Handler
	if o.adminSubjectRevocation {
		extra = map[string]http.Handler{"/admin/revoke-subject": srv.SubjectRevocationHandler()}
	}
	admin, err := adminTask(ctx, log, o.adminListen, reg, storeReadiness(st), extra)
	if err != nil {
		return err
	}
	return runAll(ctx, issuerTask, admin)
}

// newServer loads the signing key and starts watching the clients and
// users files, then builds the issuer.
func (o *issuerOptions) newServer(ctx context.Context, log *slog.Logger, reg prometheus.Registerer, st store.Store) (*issuer.Server, error) {
	key, err := o.key.load(log, os.ReadFile)
	if err != nil {
		return nil, err
	}
	interval := time.Duration(o.reloadInterval)
	clientSource, err := clients.WatchFile(ctx, o.clientsFile, interval, log)
	if err != nil {
		return nil, err
	}
	var userStore issuer.UserStore
	switch {
	case o.ldap.enabled():
		userStore, err = o.ldap.open(log)
	case o.usersFile != "":
		userStore, err = users.WatchFile(ctx, o.usersFile, interval, log)
	default:
		userStore, err = users.NewStatic(nil)
	}
	if err != nil {
		return nil, err
	}
	return issuer.New(issuer.Config{
		Issuer:          o.issuerURL,
		Signer:          key,
		Clients:         clientSource,
		Users:           userStore,
		Store:           st,
		Lockout:         o.lockout,
		AccessTokenTTL:  time.Duration(o.accessTokenTTL),
		RefreshTokenTTL: time.Duration(o.refreshTokenTTL),
		Logger:          log,
		Metrics:         reg,
	})
}

// httpTask opens address now, so that a taken port fails at start, and
// serves handler on it once run.
func httpTask(ctx context.Context, log *slog.Logger, name, address string, handler http.Handler, onShutdown ...func()) (task, error) {
	l, err := serve.Listen(ctx, name, address)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return serve.HTTP(ctx, log, name, l, handler, onShutdown...) }, nil
}

// closeLogged closes c and logs a failure, for deferred cleanup at exit.
func closeLogged(log *slog.Logger, what string, c io.Closer) {
	if err := c.Close(); err != nil {
		log.Error("close failed", "what", what, "error", err)
	}
}
