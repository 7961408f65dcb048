package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testproc"
)

// audience is the audience of the OAuthClients in these tests and the one
// ext_authz accepts.
const audience = "orders-api"

// keyPolicy is how fast the controller rotates the signing keys.
type keyPolicy struct {
	period      time.Duration
	publishLead time.Duration
	retireAfter time.Duration
}

// slowKeys rotates no key during a test.
var slowKeys = keyPolicy{period: 720 * time.Hour, publishLead: 10 * time.Minute, retireAfter: 25 * time.Hour}

// stack is the controller, the issuer and ext_authz running as processes
// against a cluster.
type stack struct {
	issuerURL        string
	issuerAdmin      string
	controllerHealth string
	controllerMetric string
	checkGRPC        string
	checkHTTP        string
	checkAdmin       string

	controller *testproc.Process
	issuer     *testproc.Process
	extauthz   *testproc.Process
}

// startStack runs `gatehouse controller`, `gatehouse issuer --kubernetes`
// and `gatehouse extauthz` against c, each controller and issuer as its own
// API user, and waits until all three are ready.
func startStack(tb testing.TB, c *cluster, keys keyPolicy) *stack {
	tb.Helper()
	bin := gatehouseBinary(tb)
	issuerAddr := testproc.FreePort(tb)
	s := &stack{
		issuerURL:        "http://" + issuerAddr,
		issuerAdmin:      testproc.FreePort(tb),
		controllerHealth: testproc.FreePort(tb),
		controllerMetric: testproc.FreePort(tb),
		checkGRPC:        testproc.FreePort(tb),
		checkHTTP:        testproc.FreePort(tb),
		checkAdmin:       testproc.FreePort(tb),
	}
	s.controller = testproc.Start(tb, "gatehouse controller", bin, "controller",
		"--kubeconfig="+c.kubeconfig(tb, controllerUser),
		"--namespace="+systemNamespace,
		"--issuer-url="+s.issuerURL,
		"--health-listen="+s.controllerHealth,
		"--metrics-listen="+s.controllerMetric,
		"--signing-key-rotation-period="+keys.period.String(),
		"--signing-key-publish-lead="+keys.publishLead.String(),
		"--signing-key-retire-after="+keys.retireAfter.String(),
	)
	s.issuer = testproc.Start(tb, "gatehouse issuer", bin, "issuer",
		"--kubernetes",
		"--kubeconfig="+c.kubeconfig(tb, issuerUser),
		"--namespace="+systemNamespace,
		"--issuer-url="+s.issuerURL,
		"--listen="+issuerAddr,
		"--admin-listen="+s.issuerAdmin,
		"--store=memory",
	)
	testproc.WaitReady(tb, "http://"+s.controllerHealth+"/readyz", 60*time.Second)
	testproc.WaitReady(tb, "http://"+s.issuerAdmin+"/readyz", 60*time.Second)
	s.extauthz = testproc.Start(tb, "gatehouse extauthz", bin, "extauthz",
		"--config-file="+extauthzConfig(tb, s.issuerURL),
		"--grpc-listen="+s.checkGRPC,
		"--http-listen="+s.checkHTTP,
		"--admin-listen="+s.checkAdmin,
	)
	testproc.WaitReady(tb, "http://"+s.checkAdmin+"/readyz", 30*time.Second)
	return s
}

// extauthzConfig writes an ext_authz file that trusts the issuer for
// audience and fetches its keys every second, so that a next key is known
// long before it signs.
func extauthzConfig(tb testing.TB, issuerURL string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "extauthz.yaml")
	content := fmt.Sprintf(`issuers:
  - issuer: %s
    audiences: [%s]
    refreshInterval: 1s
rules:
  - pathPrefix: /
    scopes: [orders:read]
`, issuerURL, audience)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
