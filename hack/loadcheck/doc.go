// Command loadcheck measures the latency and throughput of an Envoy
// ext_authz gRPC server (envoy.service.auth.v3.Authorization/Check) over one
// HTTP/2 client connection with many concurrent streams.
//
// Subcommands:
//
//	loadcheck floor  -listen 127.0.0.1:9101
//	loadcheck run    -target 127.0.0.1:9001 -token-file F -concurrency 1,8,64
//	loadcheck token  -issuer http://127.0.0.1:8080 -client-id ID -client-secret S -out F
//	loadcheck report [-markdown] FILE...
//
// floor serves a Check that always allows and does no work, so it measures
// the gRPC transport alone. run sends Envoy-shaped CheckRequests and counts a
// response as a success only when it matches -expect: unlike ghz, a denied
// Check is a mismatch unless -expect is denied. token fetches an access token
// with the client credentials or password grant. report renders the JSON
// lines that run -json writes as a plain or markdown table.
//
// Every address loadcheck dials or listens on must be a loopback address.
// Every flag can also be set through the environment variable
// LOADCHECK_<FLAG>, upper case with dashes as underscores.
//
// loadcheck measures Gatehouse from the outside, over the wire, so it must not
// import extauthz, issuer, controller or any other Gatehouse package.
package main
