package clients

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/issuer/internal/filewatch"
)

// Source looks up clients by client_id. Implementations are safe for
// concurrent use.
type Source interface {
	// Client returns the client with the given ID and true, or false when
	// no such client exists.
	Client(id string) (Client, bool)
}

// set is an immutable collection of validated clients.
type set map[string]Client

func newSet(list []Client) (set, error) {
	s := make(set, len(list))
	for i, c := range list {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("clients[%d]: %w", i, err)
		}
		if _, dup := s[c.ID]; dup {
			return nil, fmt.Errorf("clients[%d]: %w %q: clientID: duplicate", i, ErrInvalid, c.ID)
		}
		s[c.ID] = c
	}
	return s, nil
}

// Static is a fixed set of clients, for development and tests.
type Static struct {
	clients set
}

// NewStatic validates every client and returns them as a Source. It fails
// on the first invalid client or duplicate ID.
func NewStatic(list []Client) (*Static, error) {
	s, err := newSet(list)
	if err != nil {
		return nil, err
	}
	return &Static{clients: s}, nil
}

// Client implements Source.
func (s *Static) Client(id string) (Client, bool) {
	c, ok := s.clients[id]
	return c, ok
}

// FileSource is the set of clients in a YAML file, reloaded when the file
// changes.
type FileSource struct {
	value *filewatch.Value[set]
}

// WatchFile loads the clients from the YAML file at path and polls the file
// every interval until ctx is done. New content replaces the set atomically
// when every client in it is valid; otherwise the last good set stays and
// the error is logged. The first load must succeed, or WatchFile returns its
// error.
func WatchFile(ctx context.Context, path string, interval time.Duration, logger *slog.Logger) (*FileSource, error) {
	v, err := filewatch.Watch(ctx, path, interval, logger.With("file", "clients"), parseFile)
	if err != nil {
		return nil, fmt.Errorf("load clients: %w", err)
	}
	return &FileSource{value: v}, nil
}

// Client implements Source.
func (f *FileSource) Client(id string) (Client, bool) {
	c, ok := f.value.Load()[id]
	return c, ok
}

// ParseFile decodes and validates a document in the client file format of
// the package documentation and returns its clients by ID. Sources other
// than files, such as Kubernetes Secrets, use it for the same format.
func ParseFile(data []byte) (map[string]Client, error) {
	return parseFile(data)
}

// parseFile decodes and validates a client file.
func parseFile(data []byte) (set, error) {
	var doc fileDocument
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	list := make([]Client, len(doc.Clients))
	for i, fc := range doc.Clients {
		list[i] = fc.client()
	}
	return newSet(list)
}

// fileDocument is the YAML form of a client file.
type fileDocument struct {
	Clients []fileClient `json:"clients"`
}

type fileClient struct {
	ClientID        string      `json:"clientID"`
	SecretHashes    []string    `json:"secretHashes"`
	Public          bool        `json:"public"`
	GrantTypes      []GrantType `json:"grantTypes"`
	Scopes          []string    `json:"scopes"`
	Audiences       []string    `json:"audiences"`
	AccessTokenTTL  duration    `json:"accessTokenTTL"`
	RefreshTokenTTL duration    `json:"refreshTokenTTL"`
	RefreshIdleTTL  duration    `json:"refreshTokenIdleTTL"`
}

func (fc fileClient) client() Client {
	return Client{
		ID:              fc.ClientID,
		SecretHashes:    fc.SecretHashes,
		Public:          fc.Public,
		GrantTypes:      fc.GrantTypes,
		Scopes:          fc.Scopes,
		Audiences:       fc.Audiences,
		AccessTokenTTL:  time.Duration(fc.AccessTokenTTL),
		RefreshTokenTTL: time.Duration(fc.RefreshTokenTTL),
		RefreshIdleTTL:  time.Duration(fc.RefreshIdleTTL),
	}
}
