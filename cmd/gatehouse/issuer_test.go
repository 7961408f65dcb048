package main

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

func TestTrustedProxiesFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "unset", want: ""},
		{name: "list", args: []string{"--trusted-proxies=10.0.0.0/8, fd00::/8"}, want: "10.0.0.0/8,fd00::/8"},
		{name: "repeated", args: []string{"--trusted-proxies=10.0.0.0/8", "--trusted-proxies=192.168.0.0/16"}, want: "10.0.0.0/8,192.168.0.0/16"},
		{name: "single addresses", args: []string{"--trusted-proxies=127.0.0.6,2001:db8::1"}, want: "127.0.0.6/32,2001:db8::1/128"},
		{name: "host bits cleared", args: []string{"--trusted-proxies=10.1.2.3/8"}, want: "10.0.0.0/8"},
		{name: "environment", env: map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "172.16.0.0/12"}, want: "172.16.0.0/12"},
		{name: "host name", args: []string{"--trusted-proxies=ingress.example.com"}, wantErr: `invalid address range "ingress.example.com": want a CIDR range such as 10.0.0.0/8 or fd00::/8, or a single address`},
		{name: "prefix too long", args: []string{"--trusted-proxies=10.0.0.0/33"}, wantErr: `invalid address range "10.0.0.0/33"`},
		{name: "IPv4-mapped range", args: []string{"--trusted-proxies=::ffff:10.0.0.0/104"}, wantErr: `address range "::ffff:10.0.0.0/104" is IPv4-mapped IPv6, which matches no peer: write it as IPv4`},
		{name: "zone", args: []string{"--trusted-proxies=fe80::1%eth0"}, wantErr: `invalid address range "fe80::1%eth0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o issuerOptions
			fs := cli.NewFlagSet("issuer", "test", io.Discard)
			o.addFlags(fs)
			lookup := func(name string) (string, bool) {
				v, ok := tt.env[name]
				return v, ok
			}
			err := cli.Parse(fs, tt.args, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %q: %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, o.trustedProxies.String()); diff != "" {
				t.Errorf("trusted proxies mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
