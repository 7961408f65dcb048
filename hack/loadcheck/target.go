package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ErrNotLoopback reports an address that is not on the loopback interface.
// loadcheck only talks to servers on the same machine.
var ErrNotLoopback = errors.New("not a loopback address")

// portRule sets whether port 0 (any free port) is valid for an address.
type portRule int

const (
	dialPort   portRule = iota // a port to connect to: 1 to 65535
	listenPort                 // a port to listen on: 0 to 65535
)

// loopbackHostPort validates a "host:port" address and returns it in the form
// to dial or listen on. The host must be an IP address in 127.0.0.0/8 or ::1,
// or "localhost", which becomes 127.0.0.1 without a DNS lookup so that a
// resolver cannot redirect the load elsewhere.
func loopbackHostPort(address string, rule portRule) (string, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: want host:port: %w", address, err)
	}
	if err := checkPort(port, rule); err != nil {
		return "", fmt.Errorf("invalid address %q: %w", address, err)
	}
	addr, err := loopbackAddr(host)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: %w", address, err)
	}
	return net.JoinHostPort(addr.String(), port), nil
}

// loopbackAddr parses host as a loopback IP address or "localhost".
func loopbackAddr(host string) (netip.Addr, error) {
	if strings.EqualFold(host, "localhost") {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("host %q is not an IP address or localhost: %w", host, ErrNotLoopback)
	}
	if addr.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("host %q has an IPv6 zone: %w", host, ErrNotLoopback)
	}
	addr = addr.Unmap()
	if !addr.IsLoopback() {
		return netip.Addr{}, fmt.Errorf("host %q: %w", host, ErrNotLoopback)
	}
	return addr, nil
}

// checkPort validates a decimal port number under rule.
func checkPort(port string, rule portRule) error {
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("invalid port %q: want 0 to 65535", port)
	}
	if n == 0 && rule == dialPort {
		return errors.New("invalid port 0: want 1 to 65535")
	}
	return nil
}

// loopbackURL parses an http or https URL whose host is a loopback address
// and returns it with the host rewritten to an IP address and explicit port.
// Userinfo is rejected because it would put credentials into the URL.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid URL %q: want an http or https scheme", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid URL %q: userinfo is not allowed", raw)
	}
	port := u.Port()
	if port == "" {
		port = defaultPorts[u.Scheme]
	}
	if err := checkPort(port, dialPort); err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	addr, err := loopbackAddr(u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	// NOTE: an https URL naming localhost is dialled as 127.0.0.1, so its
	// certificate must cover 127.0.0.1 too.
	u.Host = net.JoinHostPort(addr.String(), port)
	return u, nil
}

// defaultPorts maps a URL scheme to the port it implies.
var defaultPorts = map[string]string{"http": "80", "https": "443"}
