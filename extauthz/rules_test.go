package extauthz

import "testing"

func TestRouteMatch(t *testing.T) {
	table := compileRules([]Rule{
		{Host: "api.example.com", PathPrefix: "/admin", Methods: []string{"post"}, Scopes: []string{"admin"}},
		{PathPrefix: "/public", Anonymous: true},
		{PathPrefix: "/docs/", Anonymous: true},
		{Host: "*.internal.example", Scopes: []string{"internal"}},
	})
	tests := []struct {
		name      string
		host      string
		method    string
		path      string
		wantIndex int // -1 for the fallback
	}{
		{name: "host path and method", host: "api.example.com", method: "POST", path: "/admin/users", wantIndex: 0},
		{name: "host with port and upper case", host: "API.Example.com:8443", method: "post", path: "/admin", wantIndex: 0},
		{name: "method does not match", host: "api.example.com", method: "GET", path: "/admin", wantIndex: -1},
		{name: "segment boundary", host: "api.example.com", method: "POST", path: "/administrator", wantIndex: -1},
		{name: "query ignored", host: "x", method: "GET", path: "/public?next=/admin", wantIndex: 1},
		{name: "prefix ending in slash", host: "x", method: "GET", path: "/docs/a", wantIndex: 2},
		{name: "prefix ending in slash needs the slash", host: "x", method: "GET", path: "/docs", wantIndex: -1},
		{name: "dot segments resolved", host: "x", method: "GET", path: "/public/../admin", wantIndex: -1},
		{name: "encoded dot segments resolved", host: "x", method: "GET", path: "/public/%2e%2E/admin", wantIndex: -1},
		{name: "encoded slash resolved", host: "x", method: "GET", path: "/public%2f..%2fadmin", wantIndex: -1},
		{name: "backslash resolved", host: "x", method: "GET", path: "/public\\..\\admin", wantIndex: -1},
		{name: "double slash collapsed", host: "x", method: "GET", path: "//public/x", wantIndex: 1},
		{name: "wildcard host", host: "a.b.internal.example", method: "GET", path: "/", wantIndex: 3},
		{name: "wildcard needs a label", host: "internal.example", method: "GET", path: "/", wantIndex: -1},
		{name: "ipv6 host", host: "[::1]:8080", method: "GET", path: "/public", wantIndex: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := table.match(tt.host, tt.method, tt.path)
			want := &table.fallback
			if tt.wantIndex >= 0 {
				want = &table.routes[tt.wantIndex]
			}
			if got != want {
				t.Errorf("match(%q, %q, %q) = %+v, want %+v", tt.host, tt.method, tt.path, *got, *want)
			}
		})
	}
}

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "/a/b", want: "/a/b"},
		{name: "query and fragment", in: "/a?b=/c#d", want: "/a"},
		{name: "trailing slash kept", in: "/a/./b/", want: "/a/b/"},
		{name: "parent above root", in: "/../../a", want: "/a"},
		{name: "empty", in: "", want: "/"},
		{name: "relative", in: "a/b", want: "/a/b"},
		{name: "other escapes kept", in: "/a%20b/%2E", want: "/a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalizePath(tt.in); got != tt.want {
				t.Errorf("normalizePath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
