package kubesource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/keyset"
	"github.com/gatehouse-dev/gatehouse/internal/kube"
	"github.com/gatehouse-dev/gatehouse/issuer"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// Names of the registration Secrets that the controller writes.
const (
	// ClientLabelValue is the keyset.LabelRegistration value of a Secret
	// that registers clients.
	ClientLabelValue = "client"
	// ClientsDataKey is the data key of a registration Secret that holds
	// its clients file.
	ClientsDataKey = "clients.yaml"
)

// Options configures a Source.
type Options struct {
	// Client reaches the API server. Required.
	Client *kube.Client
	// Namespace is Gatehouse's namespace, which holds the Secrets.
	// Required.
	Namespace string
	// SigningKeysSecret is the name of the key-set Secret. Empty means
	// keyset.DefaultSecretName.
	SigningKeysSecret string
	// WatchTimeout, MinBackoff and MaxBackoff tune the watch as the fields
	// of kube.SecretWatch with these names do. Zero means their defaults.
	WatchTimeout time.Duration
	MinBackoff   time.Duration
	MaxBackoff   time.Duration
	// Logger receives the watch's starts and errors, invalid Secrets and
	// changes of the client count and of the keys. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Metrics registers the gauges gatehouse_issuer_registered_clients and
	// gatehouse_issuer_kubernetes_watch_connected. Nil means none.
	Metrics prometheus.Registerer
}

// Source is the issuer's clients and signing keys as the watched Secrets
// define them. It implements clients.Source and issuer.KeySource, and is
// safe for concurrent use. Create it with New and start it with Run.
type Source struct {
	watch      *kube.SecretWatch
	keysSecret string
	log        *slog.Logger

	clients atomic.Pointer[map[string]clients.Client]
	keys    atomic.Pointer[issuer.KeySet]
	synced  atomic.Bool

	// registeredClients is nil when Options.Metrics is nil.
	registeredClients prometheus.Gauge

	// The fields below belong to the watch goroutine, which calls update.
	registrations map[string]registration
	duplicates    map[duplicate]bool
	keysState     string
}

// registration is the parsed content of one registration Secret at one
// resourceVersion.
type registration struct {
	resourceVersion string
	clients         map[string]clients.Client
	err             error
}

// duplicate is a client ID that the Secret ignored registers too, after the
// Secret used.
type duplicate struct {
	clientID, used, ignored string
}

// New returns a Source that watches the Secrets of opts.Namespace once Run
// starts. It registers the metrics with opts.Metrics, so it fails if they
// are already registered there.
func New(opts Options) (*Source, error) {
	if opts.Client == nil || opts.Namespace == "" {
		return nil, errors.New("kubernetes source: Client and Namespace are required")
	}
	if opts.SigningKeysSecret == "" {
		opts.SigningKeysSecret = keyset.DefaultSecretName
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Source{keysSecret: opts.SigningKeysSecret, log: log.With("namespace", opts.Namespace)}
	s.watch = &kube.SecretWatch{
		Client:        opts.Client,
		Namespace:     opts.Namespace,
		LabelSelector: keyset.LabelRegistration,
		WatchTimeout:  opts.WatchTimeout,
		MinBackoff:    opts.MinBackoff,
		MaxBackoff:    opts.MaxBackoff,
		Logger:        log,
		OnChange:      s.update,
	}
	if err := s.registerMetrics(opts.Metrics); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Source) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	s.registeredClients = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gatehouse_issuer_registered_clients",
		Help: "Clients that the issuer knows from its registration Secrets.",
	})
	connected := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gatehouse_issuer_kubernetes_watch_connected",
		Help: "1 while the issuer's watch of its Secrets is open, so changes apply at once, and 0 while it reconnects.",
	}, func() float64 {
		if s.watch.Connected() {
			return 1
		}
		return 0
	})
	for _, c := range []prometheus.Collector{s.registeredClients, connected} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register kubernetes source metrics: %w", err)
		}
	}
	return nil
}

// Run lists and watches the Secrets until ctx ends, then returns nil. It
// retries failed requests with back-off and never gives up.
func (s *Source) Run(ctx context.Context) error {
	return s.watch.Run(ctx)
}

// Client implements clients.Source.
func (s *Source) Client(id string) (clients.Client, bool) {
	current := s.clients.Load()
	if current == nil {
		return clients.Client{}, false
	}
	c, ok := (*current)[id]
	return c, ok
}

// SigningKeys implements issuer.KeySource. It returns nil until a valid
// key-set Secret has been read.
func (s *Source) SigningKeys() *issuer.KeySet {
	return s.keys.Load()
}

// Ready reports whether the first list of the Secrets is done and a valid
// key set has been read, so that the issuer can issue tokens.
func (s *Source) Ready() bool {
	return s.synced.Load() && s.keys.Load() != nil
}

// Warnings returns what is degraded while the issuer still serves: a
// closed watch, during which changes to the Secrets wait.
func (s *Source) Warnings() []string {
	if s.synced.Load() && !s.watch.Connected() {
		return []string{"kubernetes watch of the Secrets is reconnecting: the last known clients and keys are in use"}
	}
	return nil
}

// update applies the Secrets that the watch delivers.
func (s *Source) update(secrets map[string]kube.Secret) {
	s.updateKeys(secrets)
	s.updateClients(secrets)
	s.synced.Store(true)
}

// updateKeys replaces the key set when the key-set Secret changed and is
// valid. A missing or invalid Secret keeps the last good set.
func (s *Source) updateKeys(secrets map[string]kube.Secret) {
	secret, ok := secrets[s.keysSecret]
	state := "missing"
	if ok {
		state = secret.ResourceVersion
	}
	if state == s.keysState {
		return
	}
	s.keysState = state

	log := s.log.With("secret", s.keysSecret)
	if !ok && s.keys.Load() == nil {
		// At first start the controller writes the Secret moments later.
		log.Warn("signing-key Secret not found, waiting for the controller to create it; token requests fail until then")
		return
	}
	if !ok {
		log.Error("signing-key Secret not found, keeping the last good keys")
		return
	}

	log = log.With("resourceVersion", secret.ResourceVersion)
	set, err := parseKeySet(secret)
	if err != nil {
		log.Error("signing-key Secret invalid, keeping the last good keys", "error", err)
		return
	}
	previous := s.keys.Swap(set)
	log.Info("signing keys loaded", "activeKid", set.ActiveKeyID())
	if previous != nil && previous.ActiveKeyID() != set.ActiveKeyID() {
		log.Info("active signing key changed", "previousKid", previous.ActiveKeyID(), "activeKid", set.ActiveKeyID())
	}
}

func parseKeySet(secret kube.Secret) (*issuer.KeySet, error) {
	if value := secret.Labels[keyset.LabelRegistration]; value != keyset.LabelValue {
		return nil, fmt.Errorf("label %s is %q, want %q", keyset.LabelRegistration, value, keyset.LabelValue)
	}
	data, ok := secret.Data[keyset.SecretDataKey]
	if !ok {
		return nil, fmt.Errorf("data key %s is missing", keyset.SecretDataKey)
	}
	parsed, err := keyset.Parse(data)
	if err != nil {
		return nil, err
	}
	return issuer.NewKeySet(parsed.Active(), parsed.Published())
}

// updateClients merges the clients of the registration Secrets and swaps
// the result in at once. Only Secrets whose resourceVersion changed are
// parsed again.
func (s *Source) updateClients(secrets map[string]kube.Secret) {
	var names []string
	for name, secret := range secrets {
		if secret.Labels[keyset.LabelRegistration] == ClientLabelValue {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	s.registrations = s.parseRegistrations(secrets, names)
	merged, duplicates := mergeClients(s.registrations, names)
	s.logDuplicates(duplicates)

	previous := s.clients.Swap(&merged)
	if s.registeredClients != nil {
		s.registeredClients.Set(float64(len(merged)))
	}
	if previous == nil || len(*previous) != len(merged) {
		previousCount := 0
		if previous != nil {
			previousCount = len(*previous)
		}
		s.log.Info("registered clients changed", "clients", len(merged), "previous", previousCount, "secrets", len(names))
	}
}

// parseRegistrations returns the registration of each named Secret, parsed
// again only when its resourceVersion changed. It logs each invalid
// Secret once per version.
func (s *Source) parseRegistrations(secrets map[string]kube.Secret, names []string) map[string]registration {
	next := make(map[string]registration, len(names))
	for _, name := range names {
		secret := secrets[name]
		reg, ok := s.registrations[name]
		if !ok || reg.resourceVersion != secret.ResourceVersion {
			reg = parseRegistration(secret)
			log := s.log.With("secret", name, "resourceVersion", secret.ResourceVersion)
			if reg.err != nil {
				log.Error("registration Secret invalid, skipping it", "error", reg.err)
			} else {
				log.Debug("registration Secret loaded", "clients", len(reg.clients))
			}
		}
		next[name] = reg
	}
	return next
}

func parseRegistration(secret kube.Secret) registration {
	reg := registration{resourceVersion: secret.ResourceVersion}
	data, ok := secret.Data[ClientsDataKey]
	if !ok {
		reg.err = fmt.Errorf("data key %s is missing", ClientsDataKey)
		return reg
	}
	reg.clients, reg.err = clients.ParseFile(data)
	return reg
}

// mergeClients combines the valid registrations in the order of names, so
// a client ID registered twice belongs to the first Secret by name.
func mergeClients(registrations map[string]registration, names []string) (map[string]clients.Client, map[duplicate]bool) {
	merged := map[string]clients.Client{}
	owner := map[string]string{}
	duplicates := map[duplicate]bool{}
	for _, name := range names {
		reg := registrations[name]
		if reg.err != nil {
			continue
		}
		for _, id := range slices.Sorted(maps.Keys(reg.clients)) {
			if first, registered := owner[id]; registered {
				duplicates[duplicate{clientID: id, used: first, ignored: name}] = true
				continue
			}
			merged[id] = reg.clients[id]
			owner[id] = name
		}
	}
	return merged, duplicates
}

// logDuplicates logs each duplicate client ID when it first appears.
func (s *Source) logDuplicates(current map[duplicate]bool) {
	for d := range current {
		if !s.duplicates[d] {
			s.log.Warn("client ID registered by two Secrets, using the Secret whose name sorts first",
				"clientID", d.clientID, "secret", d.used, "ignoredSecret", d.ignored)
		}
	}
	s.duplicates = current
}
