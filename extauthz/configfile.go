package extauthz

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/yaml"
)

// MaxConfigFileBytes is the largest configuration file LoadConfigFile reads.
const MaxConfigFileBytes = 1 << 20

// FileConfig is the YAML configuration file of the ext_authz server. The
// format is described in docs/extauthz-config.md. It holds the parts of a
// Config that belong in a file. The caller adds the logger, metrics
// registerer and HTTP client with Config.
type FileConfig struct {
	Issuers       []FileIssuer `json:"issuers"`
	Rules         []Rule       `json:"rules,omitempty"`
	Headers       HeaderNames  `json:"headers,omitempty"`
	Realm         string       `json:"realm,omitempty"`
	Leeway        Duration     `json:"leeway,omitempty"`
	MaxTokenBytes int          `json:"maxTokenBytes,omitempty"`
	CacheSize     int          `json:"cacheSize,omitempty"`
}

// FileIssuer is the file form of IssuerConfig.
type FileIssuer struct {
	Issuer          string   `json:"issuer"`
	Audiences       []string `json:"audiences"`
	JWKSURI         string   `json:"jwksURI,omitempty"`
	JWKSFile        string   `json:"jwksFile,omitempty"`
	RefreshInterval Duration `json:"refreshInterval,omitempty"`
	// RevocationFeedURI is the issuer's revocation feed, such as
	// https://auth.example.com/oauth2/revocations.
	RevocationFeedURI string `json:"revocationFeedURI,omitempty"`
}

// Duration is a time.Duration written in a file as a Go duration string
// such as "30s" or "5m".
type Duration time.Duration

// UnmarshalJSON parses a duration string.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// LoadConfigFile reads and checks a YAML configuration file.
func LoadConfigFile(path string) (*FileConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read extauthz config: %w", err)
	}
	defer f.Close()
	data, err := readLimited(f, MaxConfigFileBytes)
	if err != nil {
		return nil, fmt.Errorf("read extauthz config %s: %w", path, err)
	}
	fc, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

// ParseConfig decodes a YAML configuration, rejecting unknown fields, and
// checks it with the same rules as New.
func ParseConfig(data []byte) (*FileConfig, error) {
	var fc FileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := fc.Config().withDefaults().validate(); err != nil {
		return nil, err
	}
	return &fc, nil
}

// Config returns the file's settings as a Config. Logger, Metrics,
// HTTPClient and Now are left for the caller to set.
func (fc *FileConfig) Config() Config {
	cfg := Config{
		Rules:         fc.Rules,
		Headers:       fc.Headers,
		Realm:         fc.Realm,
		Leeway:        time.Duration(fc.Leeway),
		MaxTokenBytes: fc.MaxTokenBytes,
		CacheSize:     fc.CacheSize,
	}
	for _, fi := range fc.Issuers {
		cfg.Issuers = append(cfg.Issuers, IssuerConfig{
			Issuer:            fi.Issuer,
			Audiences:         fi.Audiences,
			JWKSURI:           fi.JWKSURI,
			JWKSFile:          fi.JWKSFile,
			RefreshInterval:   time.Duration(fi.RefreshInterval),
			RevocationFeedURI: fi.RevocationFeedURI,
		})
	}
	return cfg
}
