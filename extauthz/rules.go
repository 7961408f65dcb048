package extauthz

import (
	"path"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/scope"
)

// route is a compiled Rule.
type route struct {
	// host is the exact host, or the suffix with its leading dot when
	// wildcard is set. Empty matches any host.
	host      string
	wildcard  bool
	prefix    string
	methods   []string
	scopes    []string
	audiences []string
	anonymous bool
}

// routeTable holds the compiled rules and the route used when none matches.
type routeTable struct {
	routes   []route
	fallback route
}

func compileRules(rules []Rule) routeTable {
	t := routeTable{routes: make([]route, 0, len(rules))}
	for _, r := range rules {
		t.routes = append(t.routes, compileRule(r))
	}
	return t
}

func compileRule(r Rule) route {
	rt := route{
		host:      strings.TrimSuffix(strings.ToLower(r.Host), "."),
		prefix:    r.PathPrefix,
		scopes:    dedupe(r.Scopes),
		audiences: r.Audiences,
		anonymous: r.Anonymous,
	}
	if suffix, ok := strings.CutPrefix(rt.host, "*"); ok {
		rt.host, rt.wildcard = suffix, true
	}
	for _, m := range r.Methods {
		rt.methods = append(rt.methods, strings.ToUpper(m))
	}
	return rt
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !scope.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// match returns the first route that matches the request, or the fallback.
// rawPath may carry a query, which is ignored.
func (t *routeTable) match(host, method, rawPath string) *route {
	if len(t.routes) == 0 {
		return &t.fallback
	}
	host = hostWithoutPort(host)
	p := normalizePath(rawPath)
	for i := range t.routes {
		r := &t.routes[i]
		if r.matchHost(host) && r.matchMethod(method) && matchPrefix(r.prefix, p) {
			return r
		}
	}
	return &t.fallback
}

func (r *route) matchHost(host string) bool {
	switch {
	case r.host == "":
		return true
	case r.wildcard:
		return len(host) > len(r.host) && strings.EqualFold(host[len(host)-len(r.host):], r.host)
	}
	return strings.EqualFold(host, r.host)
}

func (r *route) matchMethod(method string) bool {
	if len(r.methods) == 0 {
		return true
	}
	for _, m := range r.methods {
		if strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}

// matchPrefix matches on segment boundaries: "/api" matches "/api" and
// "/api/x" but not "/apix". A prefix that ends in "/" matches as a plain prefix.
func matchPrefix(prefix, p string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	if len(p) == len(prefix) || strings.HasSuffix(prefix, "/") {
		return true
	}
	return p[len(prefix)] == '/'
}

// hostWithoutPort strips the port and a trailing dot from an :authority
// value, including the bracketed IPv6 form "[::1]:8080".
func hostWithoutPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			return host[:end+1]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".")
}

// normalizePath drops the query and fragment, and resolves what an upstream
// server might resolve before routing: dot segments, repeated slashes,
// backslashes and percent-encoded ".", "/" and "\". Without that, a request
// for "/public/../admin" could match an anonymous rule for "/public" and
// reach "/admin". Plain paths are returned without copying.
func normalizePath(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if !needsNormalizing(raw) {
		return raw
	}
	p := decodePathEscapes(raw)
	p = strings.ReplaceAll(p, "\\", "/")
	cleaned := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && cleaned != "/" {
		cleaned += "/"
	}
	return cleaned
}

func needsNormalizing(p string) bool {
	if p == "" || p[0] != '/' {
		return true
	}
	return strings.Contains(p, "//") || strings.Contains(p, "/.") ||
		strings.IndexByte(p, '\\') >= 0 || strings.IndexByte(p, '%') >= 0
}

// decodePathEscapes decodes %2E, %2F and %5C (any case) and leaves every
// other escape as it is.
func decodePathEscapes(p string) string {
	if strings.IndexByte(p, '%') < 0 {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			if c, ok := decodedSeparator(p[i+1], p[i+2]); ok {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func decodedSeparator(hi, lo byte) (byte, bool) {
	lo |= 0x20 // lower-case a hex letter, which leaves digits unchanged
	switch {
	case hi == '2' && lo == 'e':
		return '.', true
	case hi == '2' && lo == 'f':
		return '/', true
	case hi == '5' && lo == 'c':
		return '\\', true
	}
	return 0, false
}
