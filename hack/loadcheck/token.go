package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenFlags holds the flags of "loadcheck token".
type tokenFlags struct {
	issuer, tokenURL       string
	clientID, clientSecret string
	username, password     string
	scope, out             string
	timeout                time.Duration
}

// tokenCommand implements "loadcheck token": it fetches an access token with
// the client credentials grant, or the password grant when -username is set,
// and writes it to -out.
func tokenCommand(ctx context.Context, args []string) error {
	f, err := parseTokenFlags(args)
	if err != nil {
		return err
	}
	tokenURL, err := f.endpoint()
	if err != nil {
		return fmt.Errorf("token: %w: %w", errUsage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, noRedirectClient())

	tok, err := f.fetch(ctx, tokenURL)
	if err != nil {
		return fmt.Errorf("token: request to %s: %w", tokenURL, err)
	}
	if err := writeTokenFile(f.out, tok.AccessToken); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	slog.Info("access token written", "path", f.out, "tokenType", tok.Type(), "expiry", tok.Expiry)
	return nil
}

func parseTokenFlags(args []string) (tokenFlags, error) {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	var f tokenFlags
	fs.StringVar(&f.issuer, "issuer", "http://127.0.0.1:8080", "loopback base URL of the issuer, whose token endpoint is this URL plus /oauth2/token")
	fs.StringVar(&f.tokenURL, "token-url", "", "token endpoint URL, overriding the one derived from -issuer")
	fs.StringVar(&f.clientID, "client-id", "", "OAuth2 client ID (required)")
	fs.StringVar(&f.clientSecret, "client-secret", "", "OAuth2 client secret (prefer the LOADCHECK_CLIENT_SECRET variable, because other users can read command lines)")
	fs.StringVar(&f.username, "username", "", "user name for the password grant (default: none, so the client credentials grant)")
	fs.StringVar(&f.password, "password", "", "password for the password grant (prefer the LOADCHECK_PASSWORD variable)")
	fs.StringVar(&f.scope, "scope", "", "space-separated scopes to request (default: none, so the issuer's default)")
	fs.StringVar(&f.out, "out", "", "file to write the access token to, with mode 0600 (required)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "deadline of the token request")
	if err := parseFlags(fs, args); err != nil {
		return tokenFlags{}, err
	}
	if err := f.validate(); err != nil {
		return tokenFlags{}, fmt.Errorf("token: %w: %w", errUsage, err)
	}
	return f, nil
}

func (f tokenFlags) validate() error {
	if f.clientID == "" {
		return errors.New("missing -client-id")
	}
	if f.out == "" {
		return errors.New("missing -out")
	}
	if f.password != "" && f.username == "" {
		return errors.New("-password needs -username")
	}
	if f.timeout <= 0 {
		return fmt.Errorf("invalid -timeout %s: want more than 0", f.timeout)
	}
	return nil
}

// endpoint returns the token endpoint URL, checked to be on loopback.
func (f tokenFlags) endpoint() (string, error) {
	raw := f.tokenURL
	if raw == "" {
		raw = strings.TrimSuffix(f.issuer, "/") + "/oauth2/token"
	}
	u, err := loopbackURL(raw)
	if err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	return u.String(), nil
}

func (f tokenFlags) fetch(ctx context.Context, tokenURL string) (*oauth2.Token, error) {
	scopes := strings.Fields(f.scope)
	if f.username != "" {
		cfg := oauth2.Config{
			ClientID:     f.clientID,
			ClientSecret: f.clientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: tokenURL},
			Scopes:       scopes,
		}
		return cfg.PasswordCredentialsToken(ctx, f.username, f.password)
	}
	cfg := clientcredentials.Config{
		ClientID:     f.clientID,
		ClientSecret: f.clientSecret,
		TokenURL:     tokenURL,
		Scopes:       scopes,
	}
	return cfg.Token(ctx)
}

// noRedirectClient returns an HTTP client that does not follow redirects,
// so a token endpoint cannot send the client credentials to another host.
func noRedirectClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// writeTokenFile writes token to path with mode 0600. It writes a temporary
// file in the same directory and renames it, so a reader never sees half a
// token.
func writeTokenFile(path, token string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".loadcheck-token-*")
	if err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("write token %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write token %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	return nil
}
