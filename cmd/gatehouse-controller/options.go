package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/keyset"
)

// summary is the first paragraph of the usage text.
const summary = "Runs the Kubernetes controller: it turns OAuthClient resources into credentials and registration Secrets, and keeps the signing-key Secret."

// Defaults of the signing-key rotation.
const (
	defaultRotationPeriod = 720 * time.Hour
	// defaultPublishLead gives verifiers that cache the JWKS time to fetch
	// a next key before the issuer signs with it.
	defaultPublishLead = 10 * time.Minute
	// defaultRetireAfter is the longest access token lifetime that an
	// OAuthClient may set, plus 5m of leeway for the verifiers' clocks. An
	// issuer started with a longer --access-token-ttl needs a longer value.
	defaultRetireAfter = v1alpha1.MaxAccessTokenTTL + 5*time.Minute
	// minSafeRetireAfter is the shortest retire-after that outlasts every
	// access token an OAuthClient may request, without clock leeway. A
	// shorter value draws a warning at start, because a platform that caps
	// token lifetimes lower may choose it.
	minSafeRetireAfter = v1alpha1.MaxAccessTokenTTL
	// defaultWorkers is how many OAuthClients are reconciled at once.
	defaultWorkers = 4
)

// tokenPath is the path of the issuer's token endpoint, relative to the
// issuer URL.
const tokenPath = "/oauth2/token"

// options are the parsed flags of gatehouse-controller.
type options struct {
	namespace         string
	watchNamespaces   cli.StringList
	issuerURL         string
	tokenURL          string
	signingKeysSecret string
	signingAlgorithm  string
	rotationPeriod    cli.PositiveDuration
	publishLead       cli.PositiveDuration
	retireAfter       cli.PositiveDuration
	leaderElect       bool
	leaderElectionID  string
	workers           int
	healthListen      string
	metricsListen     string
	kubeconfig        string
	log               cli.LogOptions

	// policy is the rotation policy that validate builds from the
	// signing-key flags.
	policy keyset.Policy
}

// newFlagSet returns the flag set of gatehouse-controller, which writes its
// usage text to output, with o holding the defaults.
func newFlagSet(o *options, output io.Writer) *flag.FlagSet {
	o.rotationPeriod = cli.PositiveDuration(defaultRotationPeriod)
	o.publishLead = cli.PositiveDuration(defaultPublishLead)
	o.retireAfter = cli.PositiveDuration(defaultRetireAfter)

	// The usage text names the command as `gatehouse controller`, which
	// runs this binary with the same arguments.
	fs := cli.NewFlagSet("controller", summary, output)
	fs.StringVar(&o.namespace, "namespace", "", "Gatehouse's own namespace, which holds the registration Secrets, the signing-key Secret and the leader election Lease; in a pod, set GATEHOUSE_NAMESPACE from the pod's namespace (required)")
	fs.Var(&o.watchNamespaces, "watch-namespaces", "namespaces whose OAuthClients the controller reconciles, comma-separated or repeated (default: all namespaces)")
	fs.StringVar(&o.issuerURL, "issuer-url", "", `issuer identifier that the issuer runs with, written into each credentials Secret as "issuer", such as https://auth.example.com (required)`)
	fs.StringVar(&o.tokenURL, "token-url", "", `token endpoint written into each credentials Secret as "token_url" (default: --issuer-url followed by `+tokenPath+`)`)
	fs.StringVar(&o.signingKeysSecret, "signing-keys-secret", keyset.DefaultSecretName, "name of the Secret in --namespace that holds the issuer's signing keys")
	fs.StringVar(&o.signingAlgorithm, "signing-algorithm", string(jose.ES256), "algorithm of new signing keys: ES256, RS256 or EdDSA; keys of another algorithm leave through the normal rotation")
	fs.Var(&o.rotationPeriod, "signing-key-rotation-period", "how long a signing key signs before the next key replaces it, as a Go duration")
	fs.Var(&o.publishLead, "signing-key-publish-lead", "minimum time a next key is published in the JWKS before it signs, as a Go duration")
	fs.Var(&o.retireAfter, "signing-key-retire-after", "how long a replaced key stays published, as a Go duration; at least the longest access token lifetime plus clock leeway")
	fs.IntVar(&o.workers, "workers", defaultWorkers, "OAuthClients reconciled at the same time; each waits mostly on the API server, so more than the CPU count helps")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "hold a Lease in --namespace so that only one replica reconciles at a time")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", "gatehouse-controller", "name of the leader election Lease")
	fs.StringVar(&o.healthListen, "health-listen", "127.0.0.1:8083", `address of /healthz and /readyz (use 0.0.0.0:8083 in a pod so that the kubelet can probe it); "0" turns the probes off`)
	fs.StringVar(&o.metricsListen, "metrics-listen", "127.0.0.1:8082", `address of the Prometheus /metrics endpoint, served over plain HTTP; "0" or "" turns it off`)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file of the API server to use (default: the in-cluster service account)")
	o.log.AddFlags(fs)
	return fs
}

// parseOptions parses args, with the environment read through lookup, and
// validates the result.
func parseOptions(args []string, lookup func(string) (string, bool), output io.Writer) (*options, error) {
	o := &options{}
	fs := newFlagSet(o, output)
	if err := cli.Parse(fs, args, lookup); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return o, nil
}

// validate checks the flags that parsing alone cannot, fills the defaults
// that depend on other flags, and builds the rotation policy.
func (o *options) validate() error {
	var errs []error
	if o.namespace == "" {
		errs = append(errs, errors.New("--namespace is required: set it to the namespace Gatehouse runs in"))
	} else {
		errs = append(errs, checkNamespace("--namespace", o.namespace))
	}
	for _, ns := range o.watchNamespaces {
		errs = append(errs, checkNamespace("--watch-namespaces", ns))
	}
	errs = append(errs, o.checkURLs(), o.buildPolicy())
	if o.workers < 1 {
		errs = append(errs, fmt.Errorf("invalid --workers %d: at least 1 is required", o.workers))
	}
	if msgs := validation.IsDNS1123Subdomain(o.leaderElectionID); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("invalid --leader-election-id %q: %s", o.leaderElectionID, strings.Join(msgs, "; ")))
	}
	if msgs := validation.IsDNS1123Subdomain(o.signingKeysSecret); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("invalid --signing-keys-secret %q: %s", o.signingKeysSecret, strings.Join(msgs, "; ")))
	}
	if o.metricsListen == "" {
		o.metricsListen = "0"
	}
	o.watchNamespaces = slices.Compact(slices.Sorted(slices.Values(o.watchNamespaces)))
	return errors.Join(errs...)
}

func checkNamespace(flagName, ns string) error {
	if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
		return fmt.Errorf("invalid namespace %q in %s: %s", ns, flagName, strings.Join(msgs, "; "))
	}
	return nil
}

// checkURLs validates --issuer-url and --token-url, and sets --token-url
// from --issuer-url when it is empty.
func (o *options) checkURLs() error {
	if o.issuerURL == "" {
		return errors.New("--issuer-url is required: set it to the issuer URL that the issuer runs with")
	}
	if err := checkIssuerURL(o.issuerURL); err != nil {
		return err
	}
	if o.tokenURL == "" {
		o.tokenURL = o.issuerURL + tokenPath
		return nil
	}
	u, err := url.Parse(o.tokenURL)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("invalid --token-url %q: want an absolute https or http URL", o.tokenURL)
	}
	return nil
}

// checkIssuerURL applies the issuer's own rules for its identifier (RFC 8414
// section 2, with http also allowed), so that the controller never writes an
// issuer URL into a credentials Secret that the issuer would reject.
func checkIssuerURL(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("invalid --issuer-url %q: %w", issuer, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("invalid --issuer-url %q: the scheme must be https or http", issuer)
	case u.Host == "" || u.User != nil:
		return fmt.Errorf("invalid --issuer-url %q: want a host and no user information", issuer)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#"):
		return fmt.Errorf("invalid --issuer-url %q: remove the query or fragment", issuer)
	case strings.HasSuffix(issuer, "/"):
		return fmt.Errorf("invalid --issuer-url %q: remove the trailing slash", issuer)
	case u.RawPath != "" || u.Path != "" && u.Path != path.Clean("/"+u.Path):
		return fmt.Errorf("invalid --issuer-url %q: the path must be clean and unescaped", issuer)
	}
	return nil
}

// buildPolicy sets o.policy from the signing-key flags and validates it.
func (o *options) buildPolicy() error {
	alg, err := jose.ParseAlgorithm(o.signingAlgorithm)
	if err != nil {
		return fmt.Errorf("invalid --signing-algorithm: %w", err)
	}
	o.policy = keyset.Policy{
		Algorithm:      alg,
		RotationPeriod: time.Duration(o.rotationPeriod),
		PublishLead:    time.Duration(o.publishLead),
		RetireAfter:    time.Duration(o.retireAfter),
	}
	if err := o.policy.Validate(); err != nil {
		return fmt.Errorf("invalid --signing-key-* flags: %w", err)
	}
	return nil
}
