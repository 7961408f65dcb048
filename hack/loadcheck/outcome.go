package main

import (
	"fmt"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
)

// outcome is the result of one Check call.
type outcome int

const (
	outcomeAllowed outcome = iota // a response with gRPC status OK in CheckResponse.status
	outcomeDenied                 // a response with any other status, which Envoy treats as a denial
	outcomeError                  // the RPC itself failed
)

// expectation is the -expect flag: which outcome counts as a success.
type expectation string

const (
	expectOK     expectation = "ok"
	expectDenied expectation = "denied"
	expectAny    expectation = "any" // any response, so only RPC errors fail
)

// parseExpectation validates the -expect flag.
func parseExpectation(s string) (expectation, error) {
	switch e := expectation(s); e {
	case expectOK, expectDenied, expectAny:
		return e, nil
	}
	return "", fmt.Errorf("invalid -expect %q: want ok, denied or any", s)
}

// Matches reports whether o counts as a success under e. An RPC error never
// does.
func (e expectation) Matches(o outcome) bool {
	switch o {
	case outcomeAllowed:
		return e == expectOK || e == expectAny
	case outcomeDenied:
		return e == expectDenied || e == expectAny
	}
	return false
}

// classify returns the outcome of a Check call. The CheckResponse proto
// (envoy/service/auth/v3/external_auth.proto) defines status OK as allow and
// any other status as deny, so classify ignores which http_response variant
// is set. A missing status reads as code 0, which is OK.
func classify(resp *authv3.CheckResponse, err error) outcome {
	if err != nil {
		return outcomeError
	}
	if codes.Code(resp.GetStatus().GetCode()) == codes.OK {
		return outcomeAllowed
	}
	return outcomeDenied
}

// describeResponse summarizes a response for a mismatch log line: the gRPC
// status code and, for a denial, the HTTP status that Envoy would return.
func describeResponse(resp *authv3.CheckResponse) string {
	code := codes.Code(resp.GetStatus().GetCode())
	if code == codes.OK {
		return "allowed"
	}
	denied := resp.GetDeniedResponse()
	if denied == nil {
		return fmt.Sprintf("denied with status %s", code)
	}
	return fmt.Sprintf("denied with status %s and HTTP %d", code, denied.GetStatus().GetCode())
}
