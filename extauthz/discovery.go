package extauthz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// errTooLarge reports a document over its size limit.
var errTooLarge = errors.New("document too large")

// httpSource fetches an issuer's JWKS over HTTP. Unless the JWKS URI is
// configured, it reads it from the issuer's metadata on every scheduled
// refresh, and reuses the last one for a forced refetch.
type httpSource struct {
	issuer     string
	client     *http.Client
	configured string

	mu         sync.Mutex
	discovered string
}

func (s *httpSource) load(ctx context.Context, forced bool) ([]jose.PublicKey, error) {
	uri, err := s.jwksURI(ctx, forced)
	if err != nil {
		return nil, err
	}
	data, err := fetch(ctx, s.client, uri, MaxJWKSBytes)
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	keys, err := jose.ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", uri, err)
	}
	return keys, nil
}

func (s *httpSource) jwksURI(ctx context.Context, forced bool) (string, error) {
	if s.configured != "" {
		return s.configured, nil
	}
	s.mu.Lock()
	cached := s.discovered
	s.mu.Unlock()
	if forced && cached != "" {
		return cached, nil
	}
	uri, err := discoverJWKSURI(ctx, s.client, s.issuer)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.discovered = uri
	s.mu.Unlock()
	return uri, nil
}

// metadataURLs returns where an issuer publishes its metadata, in the order
// tried: RFC 8414 §3.1 inserts the well-known segment between host and
// path, and OpenID Connect Discovery 1.0 §4 appends it to the issuer.
func metadataURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("parse issuer: %w", err)
	}
	issuerPath := strings.TrimSuffix(u.EscapedPath(), "/")
	origin := u.Scheme + "://" + u.Host
	return []string{
		origin + "/.well-known/oauth-authorization-server" + issuerPath,
		origin + issuerPath + "/.well-known/openid-configuration",
	}, nil
}

// metadata is the part of RFC 8414 metadata that the check needs.
type metadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discoverJWKSURI reads the jwks_uri from the first metadata document that
// loads and names exactly this issuer.
func discoverJWKSURI(ctx context.Context, client *http.Client, issuer string) (string, error) {
	urls, err := metadataURLs(issuer)
	if err != nil {
		return "", err
	}
	var errs []error
	for _, u := range urls {
		uri, err := readMetadata(ctx, client, u, issuer)
		if err == nil {
			return uri, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("discover JWKS URI of %s: %w", issuer, errors.Join(errs...))
}

func readMetadata(ctx context.Context, client *http.Client, metadataURL, issuer string) (string, error) {
	data, err := fetch(ctx, client, metadataURL, MaxMetadataBytes)
	if err != nil {
		return "", fmt.Errorf("metadata: %w", err)
	}
	var md metadata
	if err := json.Unmarshal(data, &md); err != nil {
		return "", fmt.Errorf("metadata %s: invalid JSON: %w", metadataURL, err)
	}
	if md.Issuer != issuer {
		return "", fmt.Errorf("%w: %s names issuer %q, want %q", ErrIssuerMismatch, metadataURL, md.Issuer, issuer)
	}
	if err := validateHTTPURL(md.JWKSURI); err != nil {
		return "", fmt.Errorf("metadata %s: invalid jwks_uri %q: %w", metadataURL, md.JWKSURI, err)
	}
	return md.JWKSURI, nil
}

// fetch GETs a JSON document of at most limit bytes.
func fetch(ctx context.Context, client *http.Client, rawURL string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: status %d", ErrFetch, rawURL, resp.StatusCode)
	}
	data, err := readLimited(resp.Body, limit)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, rawURL, err)
	}
	return data, nil
}

// readLimited reads r to the end and fails when it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return data, nil
}

// fileSource reads a static JWKS file. It parses the file again only when
// its content changed.
type fileSource struct {
	path string

	mu   sync.Mutex
	last []byte
	keys []jose.PublicKey
}

func (s *fileSource) load(context.Context, bool) ([]jose.PublicKey, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("read JWKS file: %w", err)
	}
	defer f.Close()
	data, err := readLimited(f, MaxJWKSBytes)
	if err != nil {
		return nil, fmt.Errorf("read JWKS file %s: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil && bytes.Equal(data, s.last) {
		return s.keys, nil
	}
	keys, err := jose.ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("JWKS file %s: %w", s.path, err)
	}
	s.last, s.keys = data, keys
	return keys, nil
}
