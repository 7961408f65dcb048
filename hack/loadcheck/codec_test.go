package main

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestDecodeStatusOnlyMatchesFullDecode(t *testing.T) {
	md, err := structpb.NewStruct(map[string]any{"sub": "demo"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		resp     *authv3.CheckResponse
		want     outcome
		wantText string
	}{
		{
			name: "allow with headers and metadata",
			resp: &authv3.CheckResponse{
				Status: &rpcstatus.Status{Code: int32(codes.OK)},
				HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
					Headers: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-auth-subject", Value: "demo"}}},
				}},
				DynamicMetadata: md,
			},
			want:     outcomeAllowed,
			wantText: "allowed",
		},
		{
			name: "deny with HTTP status",
			resp: &authv3.CheckResponse{
				Status: &rpcstatus.Status{Code: int32(codes.Unauthenticated)},
				HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
					Status:  &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
					Headers: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "www-authenticate", Value: `Bearer realm="x"`}}},
					Body:    "unauthorized",
				}},
			},
			want:     outcomeDenied,
			wantText: "denied with status Unauthenticated and HTTP 401",
		},
		{name: "empty response", resp: &authv3.CheckResponse{}, want: outcomeAllowed, wantText: "allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, err := proto.Marshal(tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			var got authv3.CheckResponse
			if err := decodeStatusOnly(wire, &got); err != nil {
				t.Fatalf("decodeStatusOnly: %v", err)
			}
			if o := classify(&got, nil); o != tt.want {
				t.Errorf("classify(status-only decode) = %v, want %v", o, tt.want)
			}
			if text := describeResponse(&got); text != tt.wantText {
				t.Errorf("describeResponse(status-only decode) = %q, want %q", text, tt.wantText)
			}
			if text := describeResponse(tt.resp); text != tt.wantText {
				t.Errorf("describeResponse(full message) = %q, want %q", text, tt.wantText)
			}
		})
	}
}

func TestDecodeStatusOnlyRejectsTruncated(t *testing.T) {
	wire, err := proto.Marshal(&authv3.CheckResponse{Status: &rpcstatus.Status{Code: 7, Message: "denied"}})
	if err != nil {
		t.Fatal(err)
	}
	var got authv3.CheckResponse
	if err := decodeStatusOnly(wire[:len(wire)-2], &got); err == nil {
		t.Error("decodeStatusOnly(truncated) = nil error, want errMalformedResponse")
	}
}
