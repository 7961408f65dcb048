package main

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewCheckRequestHeaders(t *testing.T) {
	req := newCheckRequest(requestShape{method: "GET", host: "api.example.com", path: "/orders?id=1", token: "abc.def.ghi"})
	setRequestID(req, "id-1")
	http := req.GetAttributes().GetRequest().GetHttp()

	want := map[string]string{
		":authority":        "api.example.com",
		":method":           "GET",
		":path":             "/orders?id=1",
		":scheme":           "http",
		"accept":            "*/*",
		"authorization":     "Bearer abc.def.ghi",
		"user-agent":        "loadcheck",
		"x-forwarded-proto": "http",
		"x-request-id":      "id-1",
	}
	if diff := cmp.Diff(want, http.GetHeaders()); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
	got := []string{http.GetId(), http.GetMethod(), http.GetHost(), http.GetPath(), http.GetScheme(), http.GetProtocol()}
	if diff := cmp.Diff([]string{"id-1", "GET", "api.example.com", "/orders?id=1", "http", "HTTP/1.1"}, got); diff != "" {
		t.Errorf("request fields mismatch (-want +got):\n%s", diff)
	}
	if port := req.GetAttributes().GetDestination().GetAddress().GetSocketAddress().GetPortValue(); port != destinationPort {
		t.Errorf("destination port = %d, want %d", port, destinationPort)
	}
}

func TestNewCheckRequestWithoutToken(t *testing.T) {
	req := newCheckRequest(requestShape{method: "GET", host: "h", path: "/"})
	if _, ok := req.GetAttributes().GetRequest().GetHttp().GetHeaders()["authorization"]; ok {
		t.Error("authorization header present, want none without a token")
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestIDsUniqueUUIDs(t *testing.T) {
	ids := newRequestIDs()
	seen := map[string]bool{}
	for range 10000 {
		id := ids.Next()
		if !uuidV4.MatchString(id) {
			t.Fatalf("Next() = %q, want a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("Next() repeated %q", id)
		}
		seen[id] = true
	}
	if other := newRequestIDs().Next(); seen[other] {
		t.Errorf("second generator repeated %q", other)
	}
}
