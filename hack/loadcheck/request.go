package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// requestShape is the HTTP request that every CheckRequest describes.
type requestShape struct {
	method string
	host   string
	path   string
	token  string
}

// Addresses of the made-up downstream client and of the Envoy listener that
// a sidecar would report in the CheckRequest.
const (
	sourceAddress      = "127.0.0.1"
	sourcePort         = 51234
	destinationAddress = "127.0.0.1"
	destinationPort    = 8080
)

// newCheckRequest builds a CheckRequest shaped like the one Envoy's ext_authz
// filter sends for an HTTP/1.1 request: header names in lower case, with the
// pseudo-headers :authority, :method, :path and :scheme in the header map.
// Call setRequestID before each Check to give it a fresh x-request-id.
func newCheckRequest(shape requestShape) *authv3.CheckRequest {
	headers := map[string]string{
		":authority":        shape.host,
		":method":           shape.method,
		":path":             shape.path,
		":scheme":           "http",
		"accept":            "*/*",
		"user-agent":        "loadcheck",
		"x-forwarded-proto": "http",
	}
	if shape.token != "" {
		headers["authorization"] = "Bearer " + shape.token
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      &authv3.AttributeContext_Peer{Address: socketAddress(sourceAddress, sourcePort)},
		Destination: &authv3.AttributeContext_Peer{Address: socketAddress(destinationAddress, destinationPort)},
		Request: &authv3.AttributeContext_Request{
			// NOTE: the time is set once per stream, where Envoy stamps each
			// request. The message size is the same either way.
			Time: timestamppb.Now(),
			Http: &authv3.AttributeContext_HttpRequest{
				Method:   shape.method,
				Headers:  headers,
				Path:     shape.path,
				Host:     shape.host,
				Scheme:   "http",
				Protocol: "HTTP/1.1",
			},
		},
	}}
}

// setRequestID sets the request id in both places Envoy puts it. The caller
// must not change the request while a Check that sends it is in flight.
func setRequestID(req *authv3.CheckRequest, id string) {
	http := req.GetAttributes().GetRequest().GetHttp()
	http.Id = id
	http.Headers["x-request-id"] = id
}

func socketAddress(ip string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{
		SocketAddress: &corev3.SocketAddress{
			Address:       ip,
			PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
		},
	}}
}

// requestIDs generates version 4 UUID strings cheaply: a random 128-bit
// value per generator whose last 48 bits are replaced by a counter, so ids
// never repeat within a generator and are unlikely to repeat across them.
type requestIDs struct {
	uuid  [16]byte
	count uint64
}

func newRequestIDs() *requestIDs {
	g := &requestIDs{}
	rand.Read(g.uuid[:])
	g.uuid[6] = g.uuid[6]&0x0f | 0x40 // version 4
	g.uuid[8] = g.uuid[8]&0x3f | 0x80 // RFC 9562 variant
	return g
}

// Next returns the next id.
func (g *requestIDs) Next() string {
	g.count++
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], g.count)
	copy(g.uuid[10:], counter[2:])

	var text [36]byte
	hex.Encode(text[0:8], g.uuid[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], g.uuid[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], g.uuid[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], g.uuid[8:10])
	text[23] = '-'
	hex.Encode(text[24:36], g.uuid[10:16])
	return string(text[:])
}
