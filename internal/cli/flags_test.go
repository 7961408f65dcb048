package cli

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseEnvironmentFallback(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantURL  string
		wantList []string
		wantErr  string
	}{
		{name: "default", wantURL: "http://default"},
		{name: "environment", env: map[string]string{"GATEHOUSE_ISSUER_URL": "http://env"}, wantURL: "http://env"},
		{name: "flag wins", args: []string{"--issuer-url=http://flag"}, env: map[string]string{"GATEHOUSE_ISSUER_URL": "http://env"}, wantURL: "http://flag"},
		{name: "list from environment", env: map[string]string{"GATEHOUSE_AUDIENCE": "a, b"}, wantURL: "http://default", wantList: []string{"a", "b"}},
		{name: "repeated list flag", args: []string{"--audience=a", "--audience=b,c"}, wantURL: "http://default", wantList: []string{"a", "b", "c"}},
		{name: "bad environment value", env: map[string]string{"GATEHOUSE_TTL": "soon"}, wantErr: "GATEHOUSE_TTL"},
		{name: "stray argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := NewFlagSet("test", "A test command.", &bytes.Buffer{})
			url := fs.String("issuer-url", "http://default", "issuer URL")
			var list StringList
			fs.Var(&list, "audience", "audiences")
			ttl := PositiveDuration(time.Minute)
			fs.Var(&ttl, "ttl", "lifetime")
			err := Parse(fs, tt.args, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if *url != tt.wantURL {
				t.Errorf("issuer-url = %q, want %q", *url, tt.wantURL)
			}
			if diff := cmp.Diff(tt.wantList, []string(list)); diff != "" {
				t.Errorf("audience mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPositiveDurationRejectsZero(t *testing.T) {
	var d PositiveDuration
	if err := d.Set("0s"); err == nil {
		t.Error("Set(0s) = nil, want an error")
	}
	if err := d.Set("-1m"); err == nil {
		t.Error("Set(-1m) = nil, want an error")
	}
}

func TestUsageListsEnvironment(t *testing.T) {
	var out bytes.Buffer
	fs := NewFlagSet("issuer", "Runs the issuer.", &out)
	fs.String("issuer-url", "", "issuer URL")
	if err := fs.Parse([]string{"-h"}); err != flag.ErrHelp {
		t.Fatalf("Parse(-h) = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "--issuer-url (GATEHOUSE_ISSUER_URL)") {
		t.Errorf("usage = %q, want the flag with its environment variable", out.String())
	}
}
