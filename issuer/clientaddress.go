package issuer

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddressKey is the context key of the request's client address.
type clientAddressKey struct{}

// withClientAddress stores the client address of r in the context, as
// clientAddressOf chooses it, for the per-address lockout.
func withClientAddress(r *http.Request, trusted []netip.Prefix) context.Context {
	address := clientAddressOf(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), trusted)
	return context.WithValue(r.Context(), clientAddressKey{}, address)
}

// clientAddress returns the address that withClientAddress stored.
func clientAddress(ctx context.Context) string {
	addr, _ := ctx.Value(clientAddressKey{}).(string)
	return addr
}

// clientAddressOf returns the client address of a request from remoteAddr
// (host:port) with the X-Forwarded-For header values forwarded.
//
// A peer outside trusted is the client, because a client can write
// X-Forwarded-For itself. Behind a trusted peer, the header is read from
// the right, where each proxy appends its own peer, and the first address
// outside trusted is the client. Entries left of it are never parsed,
// because the client may have written them, so garbage there cannot move
// the count onto the proxy's address. A malformed entry before the client,
// or a header of trusted addresses only, gives the peer's address. The
// result is canonical (see canonicalAddr). The RFC 7239 Forwarded header
// is not read.
func clientAddressOf(remoteAddr string, forwarded []string, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		// Not an IP address and port, such as the address of a Unix
		// socket or of a test request.
		return hostOf(remoteAddr)
	}
	peerAddr := canonicalAddr(peer.Addr())
	if !isTrusted(peerAddr, trusted) {
		return peerAddr.String()
	}
	client, ok := lastUntrusted(forwarded, trusted)
	if !ok {
		return peerAddr.String()
	}
	return client.String()
}

// hostOf returns the host part of a host:port address, or the whole
// address when it has no port.
func hostOf(address string) string {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return address
	}
	return host
}

// lastUntrusted walks the X-Forwarded-For header values from the right
// and returns the first address outside trusted. It returns false when it
// meets a malformed entry first or finds no such address. Empty list
// elements are skipped.
func lastUntrusted(values []string, trusted []netip.Prefix) (netip.Addr, bool) {
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			var entry string
			if comma := strings.LastIndexByte(rest, ','); comma >= 0 {
				rest, entry = rest[:comma], rest[comma+1:]
			} else {
				rest, entry = "", rest
			}
			entry = strings.Trim(entry, " \t")
			if entry == "" {
				continue
			}
			addr, ok := parseForwardedAddr(entry)
			if !ok {
				return netip.Addr{}, false
			}
			if !isTrusted(addr, trusted) {
				return addr, true
			}
		}
	}
	return netip.Addr{}, false
}

// parseForwardedAddr parses one X-Forwarded-For entry in the forms that
// proxies write: an IPv4 or IPv6 address, an IPv6 address in brackets, or
// either one with a port ("192.0.2.1:443", "[2001:db8::1]:443").
func parseForwardedAddr(entry string) (netip.Addr, bool) {
	if addr, err := netip.ParseAddr(entry); err == nil {
		return canonicalAddr(addr), true
	}
	if inner, ok := strings.CutPrefix(entry, "["); ok {
		if inner, ok = strings.CutSuffix(inner, "]"); ok {
			addr, err := netip.ParseAddr(inner)
			if err != nil || !addr.Is6() {
				return netip.Addr{}, false
			}
			return canonicalAddr(addr), true
		}
	}
	addrPort, err := netip.ParseAddrPort(entry)
	if err != nil {
		return netip.Addr{}, false
	}
	return canonicalAddr(addrPort.Addr()), true
}

// canonicalAddr drops an IPv6 zone and unmaps an IPv4-mapped address, so
// that one client is counted under one key and matches IPv4 ranges.
func canonicalAddr(addr netip.Addr) netip.Addr {
	return addr.Unmap().WithZone("")
}

// isTrusted reports whether addr is inside one of the trusted ranges.
func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
