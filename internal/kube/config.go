package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Limits on the files that configure a connection.
const (
	// MaxKubeconfigBytes bounds a kubeconfig file. Files with hundreds of
	// contexts and embedded certificates stay far below it.
	MaxKubeconfigBytes = 16 << 20
	// maxCredentialFileBytes bounds a certificate, key or token file.
	maxCredentialFileBytes = 1 << 20
)

// The service account files that the kubelet mounts into every pod that
// has automountServiceAccountToken enabled.
const (
	// ServiceAccountDir contains token, ca.crt and namespace.
	ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// ErrInvalidKubeconfig reports a kubeconfig file that cannot be used.
var ErrInvalidKubeconfig = errors.New("invalid kubeconfig")

// ErrNotInCluster reports that the process does not run in a pod, so the
// in-cluster configuration is unavailable.
var ErrNotInCluster = errors.New("not running in a Kubernetes pod")

// Config is how to reach and authenticate to an API server.
type Config struct {
	// Server is the API server's base URL, such as https://10.96.0.1:443.
	Server string
	// CAData is the PEM bundle that verifies the server's certificate.
	// Empty means the system's root certificates.
	CAData []byte
	// TLSServerName, when set, is the name checked against the server's
	// certificate in place of the host of Server.
	TLSServerName string
	// CertData and KeyData are a PEM client certificate and its private
	// key. Both or neither are set.
	CertData []byte
	KeyData  []byte
	// Token is a bearer token.
	Token string
	// TokenFile is a file that contains a bearer token. It is read again
	// before each request, so a rotated service account token is used as
	// soon as the kubelet writes it. It takes precedence over Token.
	TokenFile string
	// Namespace is the namespace of the kubeconfig context or of the pod's
	// service account, or empty when neither names one.
	Namespace string
}

// readFileFunc reads a file referenced by a configuration.
type readFileFunc func(path string) ([]byte, error)

// readLimited reads at most limit bytes of path, and fails for a longer
// file rather than truncating it.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, limit)
	}
	return buf.Bytes(), nil
}

func readCredentialFile(path string) ([]byte, error) {
	return readLimited(path, maxCredentialFileBytes)
}

// LoadKubeconfig reads the kubeconfig file at path and returns the
// configuration of its current context. Relative file names in it are
// resolved against the file's folder, as kubectl does.
func LoadKubeconfig(path string) (*Config, error) {
	data, err := readLimited(path, MaxKubeconfigBytes)
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	cfg, err := parseKubeconfig(data, filepath.Dir(path), readCredentialFile)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// kubeconfig is the part of the kubeconfig format (kind Config, version v1)
// that this package reads. Fields it does not know are ignored, as kubectl
// ignores them.
type kubeconfig struct {
	CurrentContext string         `json:"current-context"`
	Clusters       []namedCluster `json:"clusters"`
	Users          []namedUser    `json:"users"`
	Contexts       []namedContext `json:"contexts"`
}

type namedCluster struct {
	Name    string  `json:"name"`
	Cluster cluster `json:"cluster"`
}

type cluster struct {
	Server                   string `json:"server"`
	CertificateAuthority     string `json:"certificate-authority"`
	CertificateAuthorityData []byte `json:"certificate-authority-data"`
	TLSServerName            string `json:"tls-server-name"`
	InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
	ProxyURL                 string `json:"proxy-url"`
}

type namedUser struct {
	Name string   `json:"name"`
	User authInfo `json:"user"`
}

type authInfo struct {
	ClientCertificate     string         `json:"client-certificate"`
	ClientCertificateData []byte         `json:"client-certificate-data"`
	ClientKey             string         `json:"client-key"`
	ClientKeyData         []byte         `json:"client-key-data"`
	Token                 string         `json:"token"`
	TokenFile             string         `json:"tokenFile"`
	Username              string         `json:"username"`
	Password              string         `json:"password"`
	Impersonate           string         `json:"as"`
	Exec                  map[string]any `json:"exec"`
	AuthProvider          map[string]any `json:"auth-provider"`
}

type namedContext struct {
	Name    string         `json:"name"`
	Context contextSection `json:"context"`
}

type contextSection struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace"`
}

// ParseKubeconfig returns the configuration of the current context of the
// kubeconfig document data. Relative file names in it are resolved against
// dir.
func ParseKubeconfig(data []byte, dir string) (*Config, error) {
	return parseKubeconfig(data, dir, readCredentialFile)
}

func parseKubeconfig(data []byte, dir string, readFile readFileFunc) (*Config, error) {
	var doc kubeconfig
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKubeconfig, err)
	}
	cfg, err := doc.resolve(dir, readFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKubeconfig, err)
	}
	return cfg, nil
}

// resolve builds the Config of the current context.
func (k *kubeconfig) resolve(dir string, readFile readFileFunc) (*Config, error) {
	if k.CurrentContext == "" {
		return nil, errors.New("current-context is not set (run kubectl config use-context NAME)")
	}
	ctx, ok := findByName(k.Contexts, k.CurrentContext, func(c namedContext) string { return c.Name })
	if !ok {
		return nil, fmt.Errorf("current-context %q: no context of that name", k.CurrentContext)
	}
	cl, ok := findByName(k.Clusters, ctx.Context.Cluster, func(c namedCluster) string { return c.Name })
	if !ok {
		return nil, fmt.Errorf("context %q: cluster %q not found", ctx.Name, ctx.Context.Cluster)
	}
	cfg := &Config{Namespace: ctx.Context.Namespace}
	if err := cl.Cluster.apply(cfg, dir, readFile); err != nil {
		return nil, fmt.Errorf("cluster %q: %w", cl.Name, err)
	}
	if ctx.Context.User == "" {
		return cfg, nil
	}
	user, ok := findByName(k.Users, ctx.Context.User, func(u namedUser) string { return u.Name })
	if !ok {
		return nil, fmt.Errorf("context %q: user %q not found", ctx.Name, ctx.Context.User)
	}
	if err := user.User.apply(cfg, dir, readFile); err != nil {
		return nil, fmt.Errorf("user %q: %w", user.Name, err)
	}
	return cfg, nil
}

func findByName[T any](list []T, name string, nameOf func(T) string) (T, bool) {
	for _, item := range list {
		if nameOf(item) == name {
			return item, true
		}
	}
	var zero T
	return zero, false
}

func (c *cluster) apply(cfg *Config, dir string, readFile readFileFunc) error {
	if c.Server == "" {
		return errors.New("server is not set")
	}
	if c.InsecureSkipTLSVerify {
		return errors.New("insecure-skip-tls-verify is not supported: set certificate-authority or certificate-authority-data")
	}
	if c.ProxyURL != "" {
		return errors.New("proxy-url is not supported: set HTTPS_PROXY in the environment instead")
	}
	cfg.Server = c.Server
	cfg.TLSServerName = c.TLSServerName
	var err error
	cfg.CAData, err = dataOrFile(c.CertificateAuthorityData, c.CertificateAuthority, dir, readFile)
	if err != nil {
		return fmt.Errorf("certificate-authority: %w", err)
	}
	return nil
}

func (u *authInfo) apply(cfg *Config, dir string, readFile readFileFunc) error {
	switch {
	case u.Exec != nil:
		return errors.New("exec credential plugins are not supported: use a token, tokenFile or client certificate")
	case u.AuthProvider != nil:
		return errors.New("auth-provider is not supported: use a token, tokenFile or client certificate")
	case u.Username != "" || u.Password != "":
		return errors.New("username and password are not supported: use a token, tokenFile or client certificate")
	case u.Impersonate != "":
		return errors.New("impersonation (as) is not supported")
	}
	var err error
	if cfg.CertData, err = dataOrFile(u.ClientCertificateData, u.ClientCertificate, dir, readFile); err != nil {
		return fmt.Errorf("client-certificate: %w", err)
	}
	if cfg.KeyData, err = dataOrFile(u.ClientKeyData, u.ClientKey, dir, readFile); err != nil {
		return fmt.Errorf("client-key: %w", err)
	}
	if (len(cfg.CertData) == 0) != (len(cfg.KeyData) == 0) {
		return errors.New("client-certificate and client-key must be set together")
	}
	cfg.Token = u.Token
	if u.TokenFile != "" {
		cfg.TokenFile = resolvePath(dir, u.TokenFile)
	}
	return nil
}

// dataOrFile returns data when it is set, and otherwise the content of the
// file name, which may be empty.
func dataOrFile(data []byte, name, dir string, readFile readFileFunc) ([]byte, error) {
	if len(data) > 0 || name == "" {
		return data, nil
	}
	content, err := readFile(resolvePath(dir, name))
	if err != nil {
		return nil, err
	}
	return content, nil
}

func resolvePath(dir, name string) string {
	if filepath.IsAbs(name) || dir == "" {
		return name
	}
	return filepath.Join(dir, name)
}

// InClusterConfig returns the configuration of the pod's service account:
// the API server from KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT,
// and the token, CA bundle and namespace from ServiceAccountDir. It fails
// with ErrNotInCluster outside a pod.
func InClusterConfig() (*Config, error) {
	return inClusterConfig(os.Getenv, ServiceAccountDir, readCredentialFile)
}

func inClusterConfig(getenv func(string) string, dir string, readFile readFileFunc) (*Config, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, fmt.Errorf("%w: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, so set --kubeconfig", ErrNotInCluster)
	}
	tokenFile := filepath.Join(dir, "token")
	if _, err := readFile(tokenFile); err != nil {
		return nil, fmt.Errorf("service account token: %w (is automountServiceAccountToken disabled?)", err)
	}
	ca, err := readFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("service account CA bundle: %w", err)
	}
	cfg := &Config{
		Server:    "https://" + net.JoinHostPort(host, port),
		CAData:    ca,
		TokenFile: tokenFile,
	}
	if ns, err := readFile(filepath.Join(dir, "namespace")); err == nil {
		cfg.Namespace = strings.TrimSpace(string(ns))
	}
	return cfg, nil
}
