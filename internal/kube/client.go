package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Limits on what the API server sends.
const (
	// ListPageSize is the limit parameter of each LIST request, the number
	// of Secrets per page.
	ListPageSize = 100
	// MaxListResponseBytes bounds one page of a LIST response. A page of
	// ListPageSize Secrets of a few kilobytes each, as Gatehouse writes
	// them, is far smaller.
	MaxListResponseBytes = 32 << 20
	// MaxWatchEventBytes bounds one event of a WATCH response. The API
	// server rejects a Secret whose data exceeds 1 MiB, and base64 and the
	// JSON envelope grow that by about a third.
	MaxWatchEventBytes = 4 << 20
	// maxErrorBodyBytes bounds the body of a failed request that is read
	// for its Status message.
	maxErrorBodyBytes = 64 << 10
)

// Timeouts of the HTTP connection to the API server.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
	// listTimeout bounds a whole LIST with all its pages.
	listTimeout = 60 * time.Second
)

// userAgent identifies Gatehouse in the API server's audit log.
const userAgent = "gatehouse-issuer"

// APIError is an error status that the API server returned for a request,
// or a watch ERROR event. Code is the HTTP status code, and Reason
// and Message come from the metav1.Status in the body, when there is one.
type APIError struct {
	Code    int
	Reason  string
	Message string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("kubernetes API: %d", e.Code)
	if e.Reason != "" {
		msg += " " + e.Reason
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden {
		msg += " (the issuer needs get, list and watch on secrets in its namespace)"
	}
	return msg
}

// IsGone reports whether err is a 410 Gone from the API server: the
// requested resourceVersion is no longer available, and the caller must
// list again.
func IsGone(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Code == http.StatusGone
}

// status is the part of a metav1.Status that this package reads.
type status struct {
	Kind    string `json:"kind"`
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Secret is a core/v1 Secret with the fields Gatehouse uses. Data contains
// the decoded values, not base64.
type Secret struct {
	Name            string
	Namespace       string
	UID             string
	ResourceVersion string
	Labels          map[string]string
	Data            map[string][]byte
}

// secretJSON is the wire form of a Secret. encoding/json decodes the
// base64 values of data into bytes.
type secretJSON struct {
	Metadata objectMeta        `json:"metadata"`
	Data     map[string][]byte `json:"data"`
}

type objectMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	UID             string            `json:"uid"`
	ResourceVersion string            `json:"resourceVersion"`
	Labels          map[string]string `json:"labels"`
}

func (s *secretJSON) secret() (Secret, error) {
	if s.Metadata.Name == "" {
		return Secret{}, errors.New("secret without metadata.name")
	}
	return Secret{
		Name:            s.Metadata.Name,
		Namespace:       s.Metadata.Namespace,
		UID:             s.Metadata.UID,
		ResourceVersion: s.Metadata.ResourceVersion,
		Labels:          s.Metadata.Labels,
		Data:            s.Data,
	}, nil
}

// Client sends requests to one API server. It is safe for concurrent use.
type Client struct {
	server *url.URL
	http   *http.Client
	token  *bearerToken
}

// NewClient returns a client for the API server of cfg.
func NewClient(cfg *Config) (*Client, error) {
	server, err := parseServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	tlsConfig, err := newTLSConfig(cfg)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	c := &Client{server: server, http: &http.Client{Transport: transport}}
	if cfg.TokenFile != "" || cfg.Token != "" {
		c.token = &bearerToken{file: cfg.TokenFile, last: cfg.Token}
	}
	return c, nil
}

// parseServer accepts an https URL, or a bare host:port as client-go does.
func parseServer(server string) (*url.URL, error) {
	if server == "" {
		return nil, errors.New("kubernetes API server URL is empty")
	}
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("kubernetes API server URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("kubernetes API server URL %q: want https://host[:port]", server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func newTLSConfig(cfg *Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLSServerName}
	if len(cfg.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAData) {
			return nil, errors.New("kubernetes CA bundle: no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	if len(cfg.CertData) > 0 || len(cfg.KeyData) > 0 {
		cert, err := tls.X509KeyPair(cfg.CertData, cfg.KeyData)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// bearerToken is the token sent in the Authorization header. With a file
// it reads the file before each request, because the kubelet replaces a
// projected service account token before it expires. A failed read keeps
// the token read last.
type bearerToken struct {
	file string
	mu   sync.Mutex
	last string
}

func (b *bearerToken) value() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file == "" {
		return b.last, nil
	}
	data, err := readCredentialFile(b.file)
	if err == nil && strings.TrimSpace(string(data)) == "" {
		err = errors.New("file is empty")
	}
	if err == nil {
		b.last = strings.TrimSpace(string(data))
		return b.last, nil
	}
	if b.last != "" {
		return b.last, nil
	}
	return "", fmt.Errorf("bearer token file %s: %w", b.file, err)
}

// get sends a GET for path with query and returns the response when its
// status is 200. For any other status it returns an *APIError.
func (c *Client) get(ctx context.Context, path string, query url.Values) (*http.Response, error) {
	u := *c.server
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if c.token != nil {
		token, err := c.token.value()
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	return resp, nil
}

// readAPIError builds the error of a failed response from its Status body.
func readAPIError(resp *http.Response) error {
	apiErr := &APIError{Code: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	var st status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" {
		apiErr.Reason, apiErr.Message = st.Reason, st.Message
	}
	return apiErr
}

// secretsPath is the collection path of the Secrets of namespace.
func secretsPath(namespace string) string {
	return "/api/v1/namespaces/" + url.PathEscape(namespace) + "/secrets"
}

// secretList is the wire form of a SecretList.
type secretList struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
		Continue        string `json:"continue"`
	} `json:"metadata"`
	Items []secretJSON `json:"items"`
}

// ListSecrets returns the Secrets of namespace that match labelSelector,
// fetched in pages of ListPageSize, and the resourceVersion of the list,
// from which a watch continues.
func (c *Client) ListSecrets(ctx context.Context, namespace, labelSelector string) ([]Secret, string, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	var (
		secrets         []Secret
		resourceVersion string
		next            string
	)
	for {
		page, err := c.listPage(ctx, namespace, labelSelector, next)
		if err != nil {
			return nil, "", err
		}
		if resourceVersion == "" {
			resourceVersion = page.Metadata.ResourceVersion
		}
		for i := range page.Items {
			s, err := page.Items[i].secret()
			if err != nil {
				return nil, "", fmt.Errorf("list secrets: item %d: %w", len(secrets), err)
			}
			secrets = append(secrets, s)
		}
		next = page.Metadata.Continue
		if next == "" {
			break
		}
	}
	if resourceVersion == "" {
		return nil, "", errors.New("list secrets: response has no resourceVersion")
	}
	return secrets, resourceVersion, nil
}

func (c *Client) listPage(ctx context.Context, namespace, labelSelector, continueToken string) (*secretList, error) {
	query := url.Values{"limit": {fmt.Sprint(ListPageSize)}}
	if labelSelector != "" {
		query.Set("labelSelector", labelSelector)
	}
	if continueToken != "" {
		query.Set("continue", continueToken)
	}
	resp, err := c.get(ctx, secretsPath(namespace), query)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxListResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("list secrets: read response: %w", err)
	}
	if len(body) > MaxListResponseBytes {
		return nil, fmt.Errorf("list secrets: response page larger than %d bytes", MaxListResponseBytes)
	}
	var page secretList
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("list secrets: decode response: %w", err)
	}
	return &page, nil
}
