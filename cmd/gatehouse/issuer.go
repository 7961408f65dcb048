package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
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
	kube            kubernetesOptions
	store           storeOptions
	lockout         issuer.LockoutPolicy
	trustedProxies  prefixList
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
	fs.StringVar(&o.clientsFile, "clients-file", "", "YAML file of registered clients, read again when it changes (required unless --kubernetes)")
	fs.StringVar(&o.usersFile, "users-file", "", "YAML file of users for the password grant, read again when it changes (default: no users)")
	fs.Var(&o.reloadInterval, "reload-interval", "how often the clients and users files are checked for changes, as a Go duration (default 2s)")
	fs.Var(&o.accessTokenTTL, "access-token-ttl", "access token lifetime for clients that set none, as a Go duration (default 10m)")
	fs.Var(&o.refreshTokenTTL, "refresh-token-ttl", "refresh token lifetime for clients that set none, as a Go duration (default 24h)")
	o.key.addFlags(fs)
	o.kube.addFlags(fs)
	o.store.addFlags(fs, "embedded")
	fs.BoolVar(&o.adminSubjectRevocation, "admin-subject-revocation", false, "serve POST /admin/revoke-subject (form field subject) on --admin-listen, which ends every login of a user; it authenticates nobody, so keep that address private")
	fs.BoolVar(&o.lockout.Disabled, "lockout-disabled", false, "turn off the back-off and lockout of password guessing")
	fs.DurationVar(&o.lockout.Window, "lockout-window", 15*time.Minute, "how long failed password grants are counted, and the longest lock, as a Go duration")
	fs.IntVar(&o.lockout.LockAfter, "lockout-after", 10, "failed password grants of one username within the window that lock it")
	fs.IntVar(&o.lockout.LockAfterPerAddress, "lockout-after-per-address", 100, "failed password grants from one client address within the window that lock it")
	fs.Var(&o.trustedProxies, "trusted-proxies", "CIDR ranges or single addresses of proxies, such as the ingress controller, that append their peer's address to X-Forwarded-For. Comma-separated or repeated. For requests from them, the per-address lockout counts the client address in that header (default: none, so the peer address is counted)")
	o.ldap.addFlags(fs)
	o.log.AddFlags(fs)
}

// prefixList is a flag of IP address ranges, given as a comma-separated
// list or repeated. A single address is a range of that address alone.
type prefixList []netip.Prefix

// String implements flag.Value.
func (l *prefixList) String() string {
	parts := make([]string, len(*l))
	for i, p := range *l {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// Set implements flag.Value.
func (l *prefixList) Set(value string) error {
	for _, v := range strings.Split(value, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		p, err := parsePrefix(v)
		if err != nil {
			return err
		}
		*l = append(*l, p)
	}
	return nil
}

// parsePrefix parses a CIDR range, or a single address as the range of
// that address alone, and clears the bits after the prefix length.
func parsePrefix(s string) (netip.Prefix, error) {
	if addr, err := netip.ParseAddr(s); err == nil && addr.Zone() == "" {
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid address range %q: want a CIDR range such as 10.0.0.0/8 or fd00::/8, or a single address", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("address range %q is IPv4-mapped IPv6, which matches no peer: write it as IPv4, such as 10.0.0.0/8", s)
	}
	return p.Masked(), nil
}

func runIssuer(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	var o issuerOptions
	fs := cli.NewFlagSet("issuer", "Runs the OAuth 2.0 authorization server: token endpoint, JWKS and RFC 8414 metadata.", stderr)
	o.addFlags(fs)
	if err := cli.Parse(fs, args, nil); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
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
	sources, err := o.openSources(ctx, log, reg)
	if err != nil {
		return err
	}
	srv, err := o.newServer(ctx, log, reg, st, sources)
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
	admin, err := adminTask(ctx, log, o.adminListen, reg, bothReady(storeReadiness(st), sources.readiness), extra)
	if err != nil {
		return err
	}
	tasks := []task{issuerTask, admin}
	if sources.watch != nil {
		tasks = append(tasks, sources.watch)
	}
	return runAll(ctx, tasks...)
}

// validate rejects missing and conflicting flags.
func (o *issuerOptions) validate() error {
	switch {
	case o.issuerURL == "" || o.clientsFile == "" && !o.kube.enabled:
		return errors.New("--issuer-url and --clients-file are required (or --kubernetes in place of --clients-file)")
	case o.kube.enabled && o.clientsFile != "":
		return errors.New("--kubernetes and --clients-file both name a client source: use one")
	case o.kube.enabled && o.key.file != "":
		return errors.New("--kubernetes reads the signing keys from --signing-keys-secret, so leave --signing-key-file empty")
	case o.usersFile != "" && o.ldap.enabled():
		return errors.New("--users-file and --ldap-url both name a user store: use one")
	}
	return nil
}

// issuerSources are the sources of the issuer's clients and signing keys,
// with the task that keeps them current.
type issuerSources struct {
	clients issuer.ClientSource
	// signer is the key of --signing-key-file or a generated one, and keys
	// the key-set Secret with --kubernetes. Exactly one is set.
	signer *jose.SigningKey
	keys   issuer.KeySource
	// watch keeps the clients and keys of --kubernetes current, and is nil
	// for files, which watch themselves.
	watch     task
	readiness serve.Readiness
}

// openSources reads the signing key and starts watching the clients file,
// or connects to the Kubernetes API with --kubernetes.
func (o *issuerOptions) openSources(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (issuerSources, error) {
	if o.kube.enabled {
		src, err := o.kube.open(log, reg)
		if err != nil {
			return issuerSources{}, err
		}
		return issuerSources{
			clients:   src,
			keys:      src,
			watch:     src.Run,
			readiness: serve.Readiness{Ready: src.Ready, Warnings: src.Warnings},
		}, nil
	}
	key, err := o.key.load(log, os.ReadFile)
	if err != nil {
		return issuerSources{}, err
	}
	clientSource, err := clients.WatchFile(ctx, o.clientsFile, time.Duration(o.reloadInterval), log)
	if err != nil {
		return issuerSources{}, err
	}
	return issuerSources{clients: clientSource, signer: key}, nil
}

// newServer starts watching the users file, or connects to LDAP, and
// builds the issuer.
func (o *issuerOptions) newServer(ctx context.Context, log *slog.Logger, reg prometheus.Registerer, st store.Store, sources issuerSources) (*issuer.Server, error) {
	var (
		userStore issuer.UserStore
		err       error
	)
	switch {
	case o.ldap.enabled():
		userStore, err = o.ldap.open(log)
	case o.usersFile != "":
		userStore, err = users.WatchFile(ctx, o.usersFile, time.Duration(o.reloadInterval), log)
	default:
		userStore, err = users.NewStatic(nil)
	}
	if err != nil {
		return nil, err
	}
	return issuer.New(issuer.Config{
		Issuer:          o.issuerURL,
		Signer:          sources.signer,
		Keys:            sources.keys,
		Clients:         sources.clients,
		Users:           userStore,
		Store:           st,
		Lockout:         o.lockout,
		TrustedProxies:  o.trustedProxies,
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
