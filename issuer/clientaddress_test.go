package issuer

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// testProxies trusts an IPv4 ingress range, one IPv6 range and loopback.
var testProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("fd00::/8"),
	netip.MustParsePrefix("127.0.0.1/32"),
}

func TestClientAddressOf(t *testing.T) {
	tests := []struct {
		name      string
		remote    string
		forwarded []string
		trusted   []netip.Prefix
		want      string
	}{
		{name: "no proxies trusted", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.7"}, want: "10.1.2.3"},
		{name: "untrusted peer spoofs header", remote: "198.51.100.9:4000", forwarded: []string{"203.0.113.7"}, trusted: testProxies, want: "198.51.100.9"},
		{name: "trusted peer without header", remote: "10.1.2.3:4000", trusted: testProxies, want: "10.1.2.3"},
		{name: "trusted peer with empty header", remote: "10.1.2.3:4000", forwarded: []string{""}, trusted: testProxies, want: "10.1.2.3"},
		{name: "one entry", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.7"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "rightmost untrusted wins", remote: "10.1.2.3:4000", forwarded: []string{"192.0.2.1, 203.0.113.7"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "trusted hops skipped", remote: "10.1.2.3:4000", forwarded: []string{"192.0.2.1, 203.0.113.7, 10.9.9.9,127.0.0.1"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "several header lines", remote: "10.1.2.3:4000", forwarded: []string{"192.0.2.1, 203.0.113.7", "10.9.9.9"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "last line all trusted", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.7", "10.9.9.9, 10.8.8.8"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "all entries trusted", remote: "10.1.2.3:4000", forwarded: []string{"10.9.9.9, 127.0.0.1"}, trusted: testProxies, want: "10.1.2.3"},
		{name: "tabs and empty elements", remote: "10.1.2.3:4000", forwarded: []string{"\t203.0.113.7\t,, ,10.9.9.9 ,"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "malformed entry at right", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.7, unknown"}, trusted: testProxies, want: "10.1.2.3"},
		{name: "malformed entry behind trusted hop", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.7, bogus, 10.9.9.9"}, trusted: testProxies, want: "10.1.2.3"},
		{name: "malformed entry left of client", remote: "10.1.2.3:4000", forwarded: []string{"not-an-ip, 203.0.113.7"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "malformed line left of client", remote: "10.1.2.3:4000", forwarded: []string{"<script>", "203.0.113.7"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "IPv4 with port", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.7:51000"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "IPv6", remote: "10.1.2.3:4000", forwarded: []string{"2001:db8::7"}, trusted: testProxies, want: "2001:db8::7"},
		{name: "IPv6 in brackets", remote: "10.1.2.3:4000", forwarded: []string{"[2001:db8::7]"}, trusted: testProxies, want: "2001:db8::7"},
		{name: "IPv6 with port", remote: "10.1.2.3:4000", forwarded: []string{"[2001:db8::7]:51000"}, trusted: testProxies, want: "2001:db8::7"},
		{name: "IPv6 in canonical form", remote: "10.1.2.3:4000", forwarded: []string{"2001:DB8:0:0::7"}, trusted: testProxies, want: "2001:db8::7"},
		{name: "IPv6 zone dropped", remote: "10.1.2.3:4000", forwarded: []string{"fe80::7%eth0"}, trusted: testProxies, want: "fe80::7"},
		{name: "IPv4-mapped entry unmapped", remote: "10.1.2.3:4000", forwarded: []string{"::ffff:203.0.113.7"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "IPv4-mapped trusted hop skipped", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.7, ::ffff:10.9.9.9"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "IPv4 in brackets rejected", remote: "10.1.2.3:4000", forwarded: []string{"[203.0.113.7]"}, trusted: testProxies, want: "10.1.2.3"},
		{name: "bad port rejected", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.7:http"}, trusted: testProxies, want: "10.1.2.3"},
		{name: "CIDR entry rejected", remote: "10.1.2.3:4000", forwarded: []string{"203.0.113.0/24"}, trusted: testProxies, want: "10.1.2.3"},
		{name: "trusted IPv6 peer", remote: "[fd00::1]:4000", forwarded: []string{"2001:db8::7"}, trusted: testProxies, want: "2001:db8::7"},
		{name: "untrusted IPv6 peer", remote: "[2001:db8::1]:4000", forwarded: []string{"203.0.113.7"}, trusted: testProxies, want: "2001:db8::1"},
		{name: "IPv4-mapped trusted peer", remote: "[::ffff:10.1.2.3]:4000", forwarded: []string{"203.0.113.7"}, trusted: testProxies, want: "203.0.113.7"},
		{name: "IPv4-mapped untrusted peer", remote: "[::ffff:198.51.100.9]:4000", trusted: testProxies, want: "198.51.100.9"},
		{name: "peer without port", remote: "198.51.100.9", forwarded: []string{"203.0.113.7"}, trusted: testProxies, want: "198.51.100.9"},
		{name: "peer not an address", remote: "@", forwarded: []string{"203.0.113.7"}, trusted: testProxies, want: "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientAddressOf(tt.remote, tt.forwarded, tt.trusted); got != tt.want {
				t.Errorf("clientAddressOf(%q, %q) = %q, want %q", tt.remote, tt.forwarded, got, tt.want)
			}
		})
	}
}

func TestWithClientAddressReadsHeaders(t *testing.T) {
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/oauth2/token", nil)
	r.RemoteAddr = "10.1.2.3:4000"
	r.Header.Add("X-Forwarded-For", "192.0.2.1, 203.0.113.7")
	r.Header.Add("x-forwarded-for", "10.9.9.9")

	if got, want := clientAddress(withClientAddress(r, testProxies)), "203.0.113.7"; got != want {
		t.Errorf("client address behind a trusted proxy = %q, want %q", got, want)
	}
	if got, want := clientAddress(withClientAddress(r, nil)), "10.1.2.3"; got != want {
		t.Errorf("client address with no trusted proxies = %q, want %q", got, want)
	}
}

func TestNewChecksTrustedProxies(t *testing.T) {
	key, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ranges  []netip.Prefix
		wantErr string
	}{
		{name: "zero range", ranges: []netip.Prefix{testProxies[0], {}}, wantErr: "trusted proxy range 1 is invalid: set a CIDR range such as 10.0.0.0/8"},
		{name: "IPv4-mapped range", ranges: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}, wantErr: "trusted proxy range ::ffff:10.0.0.0/104 is IPv4-mapped IPv6, which matches no peer: write it as IPv4"},
		{name: "valid ranges", ranges: testProxies},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Issuer: testIssuer, Signer: key, Clients: testClients(t), Users: &swappableUsers{}, TrustedProxies: tt.ranges}
			_, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("got error %v, want one wrapping ErrInvalidConfig", err)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzClientAddressOf checks that an untrusted peer's header never
// matters, and that behind a trusted peer the walk over several header
// lines picks what a walk over the split entries picks, in canonical form.
func FuzzClientAddressOf(f *testing.F) {
	seeds := []struct{ remote, first, second string }{
		{"10.1.2.3:4000", "203.0.113.7", ""},
		{"10.1.2.3:4000", "192.0.2.1, 203.0.113.7, 10.9.9.9", "127.0.0.1"},
		{"[fd00::1]:4000", "[2001:db8::7]:51000", "fe80::7%eth0"},
		{"[::ffff:10.1.2.3]:4000", "::ffff:203.0.113.7", ", ,\t,"},
		{"198.51.100.9:4000", "203.0.113.7", "10.9.9.9"},
		{"10.1.2.3:4000", "unknown", "[203.0.113.7]"},
		{"10.1.2.3:4000", "203.0.113.7:http", "[2001:db8::7"},
		{"@", "203.0.113.7", ""},
	}
	for _, s := range seeds {
		f.Add(s.remote, s.first, s.second)
	}
	f.Fuzz(func(t *testing.T, remote, first, second string) {
		forwarded := []string{first, second}
		got := clientAddressOf(remote, forwarded, testProxies)

		peer, err := netip.ParseAddrPort(remote)
		if err != nil {
			if got != hostOf(remote) {
				t.Fatalf("invalid peer address %q gave %q, want its host %q", remote, got, hostOf(remote))
			}
			return
		}
		peerAddr := canonicalAddr(peer.Addr())
		if !isTrusted(peerAddr, testProxies) {
			if got != peerAddr.String() {
				t.Fatalf("untrusted peer %q with header %q gave %q, want the peer's address", remote, forwarded, got)
			}
			return
		}
		want := splitWalk(forwarded)
		if want == "" {
			want = peerAddr.String()
		}
		if got != want {
			t.Fatalf("trusted peer %q with header %q gave %q, but a walk over the split entries gives %q", remote, forwarded, got, want)
		}
		addr, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("chosen address %q is not an IP address: %v", got, err)
		}
		if addr != canonicalAddr(addr) {
			t.Fatalf("chosen address %q is not canonical", got)
		}
	})
}

// splitWalk is a plain version of lastUntrusted for testProxies: it joins
// the header lines, splits them at every comma and walks the entries from
// the right. It returns "" when lastUntrusted would return false.
func splitWalk(values []string) string {
	entries := strings.Split(strings.Join(values, ","), ",")
	for i := len(entries) - 1; i >= 0; i-- {
		entry := strings.Trim(entries[i], " \t")
		if entry == "" {
			continue
		}
		addr, ok := parseForwardedAddr(entry)
		if !ok {
			return ""
		}
		if !isTrusted(addr, testProxies) {
			return addr.String()
		}
	}
	return ""
}
