package main

import (
	"errors"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassify(t *testing.T) {
	denied := &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
	}}
	tests := []struct {
		name string
		resp *authv3.CheckResponse
		err  error
		want outcome
	}{
		{name: "rpc error", err: status.Error(codes.Unavailable, "down"), want: outcomeError},
		{name: "plain error", err: errors.New("boom"), want: outcomeError},
		{name: "missing status", resp: &authv3.CheckResponse{}, want: outcomeAllowed},
		{name: "ok status", resp: &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.OK)}}, want: outcomeAllowed},
		{name: "ok status with denied body", resp: &authv3.CheckResponse{HttpResponse: denied}, want: outcomeAllowed},
		{name: "unauthenticated", resp: &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.Unauthenticated)}, HttpResponse: denied}, want: outcomeDenied},
		{name: "permission denied", resp: &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.PermissionDenied)}}, want: outcomeDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.resp, tt.err); got != tt.want {
				t.Errorf("classify() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestExpectationMatches(t *testing.T) {
	tests := []struct {
		name   string
		expect expectation
		got    outcome
		want   bool
	}{
		{name: "ok allowed", expect: expectOK, got: outcomeAllowed, want: true},
		{name: "ok denied", expect: expectOK, got: outcomeDenied, want: false},
		{name: "ok error", expect: expectOK, got: outcomeError, want: false},
		{name: "denied allowed", expect: expectDenied, got: outcomeAllowed, want: false},
		{name: "denied denied", expect: expectDenied, got: outcomeDenied, want: true},
		{name: "denied error", expect: expectDenied, got: outcomeError, want: false},
		{name: "any allowed", expect: expectAny, got: outcomeAllowed, want: true},
		{name: "any denied", expect: expectAny, got: outcomeDenied, want: true},
		{name: "any error", expect: expectAny, got: outcomeError, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.expect.Matches(tt.got); got != tt.want {
				t.Errorf("%s.Matches(%d) = %t, want %t", tt.expect, tt.got, got, tt.want)
			}
		})
	}
}

func TestParseExpectation(t *testing.T) {
	for _, in := range []string{"ok", "denied", "any"} {
		if got, err := parseExpectation(in); err != nil || string(got) != in {
			t.Errorf("parseExpectation(%q) = %q, %v, want %q, nil", in, got, err, in)
		}
	}
	for _, in := range []string{"", "OK", "allow", "deny"} {
		if _, err := parseExpectation(in); err == nil {
			t.Errorf("parseExpectation(%q) error = nil, want an error", in)
		}
	}
}

func TestDescribeResponse(t *testing.T) {
	tests := []struct {
		name string
		resp *authv3.CheckResponse
		want string
	}{
		{name: "allowed", resp: &authv3.CheckResponse{}, want: "allowed"},
		{name: "denied without body", resp: &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.PermissionDenied)}}, want: "denied with status PermissionDenied"},
		{
			name: "denied with HTTP status",
			resp: &authv3.CheckResponse{
				Status: &rpcstatus.Status{Code: int32(codes.Unauthenticated)},
				HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
					Status: &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
				}},
			},
			want: "denied with status Unauthenticated and HTTP 401",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeResponse(tt.resp); got != tt.want {
				t.Errorf("describeResponse() = %q, want %q", got, tt.want)
			}
		})
	}
}
