package extauthz

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// MaxCheckRequestBytes bounds one CheckRequest. Envoy sends the headers and,
// only when with_request_body is set, a buffered body; 1 MiB covers the
// header limits Envoy applies by default and a small body.
const MaxCheckRequestBytes = 1 << 20

// keepaliveMinTime is the shortest ping interval accepted from a client.
// Envoy's gRPC clients ping only when configured to, and never more often
// than this in the usual settings.
const keepaliveMinTime = 10 * time.Second

// ServerOptions returns the options of a grpc.Server that serves Check:
// the codec of this package (see Codec), the request size limit and a
// keepalive policy that lets Envoy keep idle connections open.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(Codec()),
		grpc.MaxRecvMsgSize(MaxCheckRequestBytes),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveMinTime, PermitWithoutStream: true}),
	}
}
