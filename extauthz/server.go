package extauthz

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Server makes the authorization decisions. Create it with New. It is safe
// for concurrent use.
type Server struct {
	issuers       map[string]*issuerKeys
	issuerList    []*issuerKeys
	routes        routeTable
	headers       HeaderNames
	identityNames []string
	maxTokenBytes int
	cache         *tokenCache
	parser        *jwt.Parser
	metrics       *metrics
	log           *slog.Logger
	now           func() time.Time
	realmAttr     string
	denials       [reasonCount]*denial
	anonymousOK   *allowAnonymous
	feeds         []*feedReader
}

// New checks cfg and returns a Server. It starts loading the key set of
// every issuer in the background, and the goroutines stop when ctx ends. Until
// an issuer's keys are loaded, its tokens are denied with 503 (see Ready
// and WaitReady).
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}

	s := &Server{
		issuers:       make(map[string]*issuerKeys, len(cfg.Issuers)),
		routes:        compileRules(cfg.Rules),
		headers:       cfg.Headers,
		maxTokenBytes: cfg.MaxTokenBytes,
		cache:         newTokenCache(cfg.CacheSize),
		parser:        newParser(cfg.Leeway, cfg.Now),
		metrics:       m,
		log:           cfg.Logger,
		now:           cfg.Now,
	}
	s.identityNames = []string{s.headers.Subject, s.headers.ClientID, s.headers.Scope, s.headers.Username}
	registerIdentityNames(s.identityNames)
	s.buildDenials(cfg.Realm)
	s.anonymousOK = newAllowAnonymous(s.identityNames)

	for _, ic := range cfg.Issuers {
		ik := s.newIssuerKeys(ctx, cfg, ic)
		s.issuers[ic.Issuer] = ik
		s.issuerList = append(s.issuerList, ik)
	}
	for _, ik := range s.issuerList {
		go ik.run(ctx)
	}
	for i, ic := range cfg.Issuers {
		if ic.RevocationFeedURI == "" {
			continue
		}
		f := s.newFeedReader(cfg, ic, s.issuerList[i].deny)
		s.feeds = append(s.feeds, f)
		go f.run(ctx)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "extauthz server created",
		slog.Int("issuers", len(cfg.Issuers)), slog.Int("rules", len(cfg.Rules)), slog.Int("cacheSize", cfg.CacheSize))
	return s, nil
}

func (s *Server) newIssuerKeys(ctx context.Context, cfg Config, ic IssuerConfig) *issuerKeys {
	var src keySource = &httpSource{issuer: ic.Issuer, client: cfg.HTTPClient, configured: ic.JWKSURI}
	if ic.JWKSFile != "" {
		src = &fileSource{path: ic.JWKSFile}
	}
	return &issuerKeys{
		deny:      &denyList{},
		issuer:    ic.Issuer,
		audiences: ic.Audiences,
		interval:  ic.RefreshInterval,
		source:    src,
		log:       cfg.Logger,
		now:       cfg.Now,
		metrics:   s.metrics.forIssuer(ic.Issuer),
		ctx:       ctx,
		loaded:    make(chan struct{}),
	}
}

// Ready reports whether every issuer has a key set loaded. It stays true
// when a later refresh fails, because the last good set is kept.
func (s *Server) Ready() bool {
	for _, ik := range s.issuerList {
		if ik.set.Load() == nil {
			return false
		}
	}
	return true
}

// WaitReady blocks until Ready is true or ctx ends.
func (s *Server) WaitReady(ctx context.Context) error {
	for _, ik := range s.issuerList {
		select {
		case <-ik.loaded:
		case <-ctx.Done():
			return fmt.Errorf("wait for key set of %s: %w", ik.issuer, ctx.Err())
		}
	}
	return nil
}

// newFeedReader returns the reader of an issuer's revocation feed. Its HTTP
// client has no overall timeout, because a feed response lasts as long as
// the connection: the reader's idle timeout bounds a silent feed instead.
func (s *Server) newFeedReader(cfg Config, ic IssuerConfig, deny *denyList) *feedReader {
	return &feedReader{
		issuer: ic.Issuer,
		url:    ic.RevocationFeedURI,
		client: &http.Client{Transport: cfg.HTTPClient.Transport},
		deny:   deny,
		log:    cfg.Logger,
		now:    cfg.Now,
		up:     s.metrics.feedUp.WithLabelValues(ic.Issuer),
		size:   s.metrics.revoked.WithLabelValues(ic.Issuer),
	}
}

// RevocationFeedsConnected reports whether every configured revocation feed
// is connected and caught up. While one is not, its issuer's revocations
// received so far stay enforced, but newer ones are not known.
func (s *Server) RevocationFeedsConnected() bool {
	for _, f := range s.feeds {
		if !f.connected.Load() {
			return false
		}
	}
	return true
}
