package main

import (
	"errors"
	"fmt"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers read by statusCodec (envoy/service/auth/v3/external_auth.proto,
// google/rpc/status.proto, envoy/type/v3/http_status.proto).
const (
	fieldResponseStatus = 1 // CheckResponse.status
	fieldResponseDenied = 2 // CheckResponse.denied_response
	fieldStatusCode     = 1 // google.rpc.Status.code
	fieldDeniedStatus   = 1 // DeniedHttpResponse.status
	fieldHTTPStatusCode = 1 // HttpStatus.code
	wireVarint          = protowire.VarintType
	wireBytes           = protowire.BytesType
	statusCodecName     = "proto"
)

var errMalformedResponse = errors.New("malformed CheckResponse")

// statusCodec is the client codec of "loadcheck run -decode status". It
// marshals requests with the standard runtime, and decodes a CheckResponse
// only as far as classify and describeResponse read it: the gRPC status
// code and a denial's HTTP status. The identity headers and metadata of an
// allow are skipped, so that at 64 streams the one client core measures
// the server, not the client's own decoding.
type statusCodec struct{}

var _ encoding.CodecV2 = statusCodec{}

func (statusCodec) Name() string { return statusCodecName }

func (statusCodec) Marshal(v any) (mem.BufferSlice, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("marshal: %T is not a protobuf message", v)
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (statusCodec) Unmarshal(data mem.BufferSlice, v any) error {
	resp, ok := v.(*authv3.CheckResponse)
	if !ok {
		msg, isProto := v.(proto.Message)
		if !isProto {
			return fmt.Errorf("unmarshal: %T is not a protobuf message", v)
		}
		return proto.Unmarshal(data.Materialize(), msg)
	}
	return decodeStatusOnly(data.Materialize(), resp)
}

// decodeStatusOnly fills resp.Status.Code and, for a denial, the HTTP status
// of resp.DeniedResponse from the wire form b.
func decodeStatusOnly(b []byte, resp *authv3.CheckResponse) error {
	proto.Reset(resp)
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == fieldResponseStatus && typ == wireBytes:
			code, err := lastVarint(v, fieldStatusCode)
			resp.Status = &rpcstatus.Status{Code: int32(code)}
			return err
		case num == fieldResponseDenied && typ == wireBytes:
			return decodeDenied(v, resp)
		}
		return nil
	})
}

func decodeDenied(b []byte, resp *authv3.CheckResponse) error {
	status := &typev3.HttpStatus{}
	resp.HttpResponse = &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{Status: status}}
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fieldDeniedStatus || typ != wireBytes {
			return nil
		}
		code, err := lastVarint(v, fieldHTTPStatusCode)
		status.Code = typev3.StatusCode(code)
		return err
	})
}

// lastVarint returns the last varint of field num in b, as protobuf
// decoding does for a repeated scalar, or 0 when it is absent.
func lastVarint(b []byte, num protowire.Number) (uint64, error) {
	var value uint64
	err := eachField(b, func(n protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		if n == num && typ == wireVarint {
			value = x
		}
		return nil
	})
	return value, err
}

// eachField calls fn for each top-level field of b: v holds the bytes of a
// length-delimited field and x the value of a varint.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformedResponse
		}
		b = b[n:]
		var (
			v []byte
			x uint64
		)
		switch typ {
		case wireBytes:
			v, n = protowire.ConsumeBytes(b)
		case wireVarint:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errMalformedResponse
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
