// Package examples checks the deployment examples under config/envoy,
// config/istio and config/nginx with the parsers of the software that reads
// them: Envoy's bootstrap protos from go-control-plane with their generated
// validation, the Istio API protos, and `nginx -t`.
//
// The package holds tests only. Nothing may import it, and it must not
// import the gatehouse parts (extauthz, issuer, controller): the examples
// are checked as a user would write them, against the proxies' own schemas.
//
// The nginx test needs nginx on PATH or in /usr/sbin;
// hack/install-test-deps.sh installs it.
package examples
