// Package serve runs the network servers of a gatehouse process: HTTP
// servers with read timeouts, gRPC servers, and the admin server with
// health, readiness and Prometheus metrics. Each server stops gracefully
// when its context ends, and falls back to a hard stop after a grace period.
//
// It must not import issuer, extauthz or controller.
package serve
