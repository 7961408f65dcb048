package main

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseLevels(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{name: "default levels", in: "1,8,64", want: []int{1, 8, 64}},
		{name: "spaces", in: " 2 , 4 ", want: []int{2, 4}},
		{name: "single", in: "16", want: []int{16}},
		{name: "max streams", in: "1024", want: []int{1024}},
		{name: "empty", in: "", wantErr: true},
		{name: "zero", in: "0", wantErr: true},
		{name: "negative", in: "-1", wantErr: true},
		{name: "too many streams", in: "1025", wantErr: true},
		{name: "trailing comma", in: "1,", wantErr: true},
		{name: "not a number", in: "1,x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLevels(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseLevels(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLevels(%q) error = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseLevels(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	target := fs.String("target", "default-target", "")
	secret := fs.String("client-secret", "", "")
	duration := fs.Duration("duration", time.Second, "")
	if err := fs.Parse([]string{"-target", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"LOADCHECK_TARGET":        "from-env",
		"LOADCHECK_CLIENT_SECRET": "s3cret",
		"LOADCHECK_DURATION":      "3s",
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	if err := applyEnv(fs, lookup); err != nil {
		t.Fatalf("applyEnv() error = %v", err)
	}
	if *target != "from-flag" {
		t.Errorf("target = %q, want the command-line value from-flag", *target)
	}
	if *secret != "s3cret" {
		t.Errorf("client-secret = %q, want the environment value", *secret)
	}
	if *duration != 3*time.Second {
		t.Errorf("duration = %v, want 3s", *duration)
	}
}

func TestApplyEnvInvalidValueHidden(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.Duration("timeout", time.Second, "")
	lookup := func(string) (string, bool) { return "not-a-duration-s3cret", true }
	err := applyEnv(fs, lookup)
	if err == nil {
		t.Fatal("applyEnv() error = nil, want an error for an invalid duration")
	}
	if !strings.Contains(err.Error(), "LOADCHECK_TIMEOUT") {
		t.Errorf("error %q does not name LOADCHECK_TIMEOUT", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q contains the variable's value", err)
	}
}

func TestEnvName(t *testing.T) {
	if got, want := envName("token-file"), "LOADCHECK_TOKEN_FILE"; got != want {
		t.Errorf("envName(token-file) = %q, want %q", got, want)
	}
}
