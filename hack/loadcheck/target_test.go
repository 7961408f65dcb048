package main

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"
)

func TestLoopbackHostPort(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		rule         portRule
		want         string
		wantErr      bool
		wantLoopback bool // the error must be ErrNotLoopback
	}{
		{name: "ipv4 loopback", in: "127.0.0.1:9001", want: "127.0.0.1:9001"},
		{name: "other 127 address", in: "127.1.2.3:80", want: "127.1.2.3:80"},
		{name: "localhost without lookup", in: "localhost:9001", want: "127.0.0.1:9001"},
		{name: "localhost upper case", in: "LOCALHOST:9001", want: "127.0.0.1:9001"},
		{name: "ipv6 loopback", in: "[::1]:9001", want: "[::1]:9001"},
		{name: "ipv4-mapped loopback", in: "[::ffff:127.0.0.1]:9001", want: "127.0.0.1:9001"},
		{name: "listen on port 0", in: "127.0.0.1:0", rule: listenPort, want: "127.0.0.1:0"},
		{name: "private address", in: "10.0.0.1:9001", wantErr: true, wantLoopback: true},
		{name: "metadata address", in: "169.254.169.254:80", wantErr: true, wantLoopback: true},
		{name: "unspecified ipv4", in: "0.0.0.0:9001", wantErr: true, wantLoopback: true},
		{name: "unspecified ipv6", in: "[::]:9001", wantErr: true, wantLoopback: true},
		{name: "host name", in: "example.com:443", wantErr: true, wantLoopback: true},
		{name: "localhost with dot", in: "localhost.:9001", wantErr: true, wantLoopback: true},
		{name: "ipv6 zone", in: "[::1%lo]:9001", wantErr: true, wantLoopback: true},
		{name: "empty host", in: ":9001", wantErr: true, wantLoopback: true},
		{name: "missing port", in: "127.0.0.1", wantErr: true},
		{name: "dial port 0", in: "127.0.0.1:0", rule: dialPort, wantErr: true},
		{name: "port too large", in: "127.0.0.1:65536", wantErr: true},
		{name: "signed port", in: "127.0.0.1:+80", wantErr: true},
		{name: "named port", in: "127.0.0.1:http", wantErr: true},
		{name: "grpc scheme", in: "dns:///127.0.0.1:9001", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loopbackHostPort(tt.in, tt.rule)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("loopbackHostPort(%q) error = %v, want nil", tt.in, err)
				}
				if got != tt.want {
					t.Errorf("loopbackHostPort(%q) = %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("loopbackHostPort(%q) = %q, want an error", tt.in, got)
			}
			if tt.wantLoopback && !errors.Is(err, ErrNotLoopback) {
				t.Errorf("loopbackHostPort(%q) error = %v, want ErrNotLoopback", tt.in, err)
			}
		})
	}
}

func TestLoopbackURL(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		want         string
		wantErr      bool
		wantLoopback bool
	}{
		{name: "http with port", in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "localhost with path", in: "http://localhost:8080/oauth2/token", want: "http://127.0.0.1:8080/oauth2/token"},
		{name: "http default port", in: "http://localhost/x", want: "http://127.0.0.1:80/x"},
		{name: "https ipv6", in: "https://[::1]/t", want: "https://[::1]:443/t"},
		{name: "remote host", in: "http://issuer.example.com:8080", wantErr: true, wantLoopback: true},
		{name: "loopback-looking name", in: "http://127.0.0.1.nip.io/", wantErr: true, wantLoopback: true},
		{name: "private address", in: "http://192.168.1.1/", wantErr: true, wantLoopback: true},
		{name: "other scheme", in: "ftp://127.0.0.1/", wantErr: true},
		{name: "userinfo", in: "http://user:pw@127.0.0.1/", wantErr: true},
		{name: "bad port", in: "http://127.0.0.1:0/", wantErr: true},
		{name: "not a URL", in: "http://[::1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loopbackURL(tt.in)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("loopbackURL(%q) error = %v, want nil", tt.in, err)
				}
				if got.String() != tt.want {
					t.Errorf("loopbackURL(%q) = %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("loopbackURL(%q) = %q, want an error", tt.in, got)
			}
			if tt.wantLoopback && !errors.Is(err, ErrNotLoopback) {
				t.Errorf("loopbackURL(%q) error = %v, want ErrNotLoopback", tt.in, err)
			}
		})
	}
}

// FuzzLoopbackHostPort checks that every accepted address is a loopback IP
// address with a valid port, whatever the input.
func FuzzLoopbackHostPort(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string, listen bool) {
		rule := dialPort
		if listen {
			rule = listenPort
		}
		got, err := loopbackHostPort(in, rule)
		if err != nil {
			return
		}
		checkLoopbackResult(t, in, got, rule)
	})
}

// FuzzLoopbackURL checks that every accepted URL names a loopback IP address.
func FuzzLoopbackURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		got, err := loopbackURL(in)
		if err != nil {
			return
		}
		if got.User != nil {
			t.Fatalf("loopbackURL(%q) kept userinfo", in)
		}
		checkLoopbackResult(t, in, got.Host, dialPort)
	})
}

func checkLoopbackResult(t *testing.T, in, got string, rule portRule) {
	t.Helper()
	host, port, err := net.SplitHostPort(got)
	if err != nil {
		t.Fatalf("accepted %q as %q, which does not split: %v", in, got, err)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.IsLoopback() || addr.Zone() != "" {
		t.Fatalf("accepted %q as %q, whose host is not a loopback IP address", in, got)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n > 65535 || (n == 0 && rule == dialPort) {
		t.Fatalf("accepted %q as %q, whose port is invalid", in, got)
	}
}
