package ldap

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// Paths of the OpenLDAP programs that the tests run, as Debian installs
// them. hack/install-test-deps.sh installs them.
const (
	slapdPath   = "/usr/sbin/slapd"
	slapaddPath = "/usr/sbin/slapadd"
	ldapaddPath = "/usr/bin/ldapadd"
)

// Credentials and names of the test directory in testdata.
const (
	testBaseDN          = "dc=example,dc=org"
	testAdminDN         = "cn=admin,dc=example,dc=org"
	testAdminPassword   = "admin-password"
	testServiceDN       = "cn=reader,dc=example,dc=org"
	testServicePassword = "reader-password"
)

// slapdStartTimeout bounds the wait for a new slapd to accept connections.
const slapdStartTimeout = 10 * time.Second

// testDirectory is a slapd child process that serves the directory in
// testdata on a loopback port.
type testDirectory struct {
	// URL is the ldap:// URL of the server.
	URL string
	// LDAPSURL is the ldaps:// URL of the server, when it has TLS.
	LDAPSURL string
	// CAFile is the PEM file of the CA that signed the server's
	// certificate, when the server has TLS.
	CAFile string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startDirectory starts slapd with the users of testdata/directory.ldif
// and the groups of testdata/groups.ldif, and stops it by PID when the
// test ends. With withTLS the server offers StartTLS with a certificate
// for 127.0.0.1 from a fresh CA.
func startDirectory(t *testing.T, withTLS bool) *testDirectory {
	t.Helper()
	requireOpenLDAP(t)
	d := &testDirectory{dir: t.TempDir()}
	if err := os.Mkdir(filepath.Join(d.dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	tlsLines := ""
	if withTLS {
		tlsLines = writeTestCertificates(t, d.dir)
		d.CAFile = filepath.Join(d.dir, "ca.pem")
	}
	conf := writeSlapdConf(t, d.dir, tlsLines)
	runTool(t, slapaddPath, "-f", conf, "-l", "testdata/directory.ldif")

	var err error
	for range 3 { // another process may take a free port first
		if err = d.start(t, conf, withTLS); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	runTool(t, ldapaddPath, "-x", "-H", d.URL, "-D", testAdminDN, "-w", testAdminPassword, "-f", "testdata/groups.ldif")
	return d
}

func requireOpenLDAP(t *testing.T) {
	t.Helper()
	for _, path := range []string{slapdPath, slapaddPath, ldapaddPath} {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s is missing, so the LDAP tests cannot start a directory: run hack/install-test-deps.sh (it installs Debian's slapd and ldap-utils): %v", path, err)
		}
	}
}

func writeSlapdConf(t *testing.T, dir, tlsLines string) string {
	t.Helper()
	tmpl, err := template.ParseFiles("testdata/slapd.conf.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, map[string]string{"Dir": dir, "TLS": tlsLines}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runTool(t *testing.T, path string, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", path, strings.Join(args, " "), err, out)
	}
}

// start runs slapd in the foreground (-d 0) on a free loopback port, and
// on a second one for ldaps:// with withTLS, and waits until it accepts
// connections.
func (d *testDirectory) start(t *testing.T, conf string, withTLS bool) error {
	t.Helper()
	addr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	listeners := "ldap://" + addr + "/"
	if withTLS {
		tlsAddr, err := freeLoopbackAddr()
		if err != nil {
			return err
		}
		listeners += " ldaps://" + tlsAddr + "/"
		d.LDAPSURL = "ldaps://" + tlsAddr
	}
	var logs bytes.Buffer
	cmd := exec.Command(slapdPath, "-f", conf, "-h", listeners, "-d", "0")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return err
	}
	d.cmd, d.exited, d.URL = cmd, make(chan struct{}), "ldap://"+addr
	go func() { _ = cmd.Wait(); close(d.exited) }()
	t.Cleanup(d.Stop)
	if err := waitForListener(addr, d.exited); err != nil {
		d.Stop()
		return fmt.Errorf("%w; slapd output:\n%s", err, logs.String())
	}
	return nil
}

// Stop ends slapd by its PID and waits for it to exit. It is safe to call
// more than once.
func (d *testDirectory) Stop() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitForListener(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(slapdStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("slapd exited before it accepted connections")
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("slapd did not accept connections on %s within %v", addr, slapdStartTimeout)
}

// writeTestCertificates writes a CA and a server certificate for
// 127.0.0.1 into dir, and returns the slapd.conf lines that use them.
func writeTestCertificates(t *testing.T, dir string) string {
	t.Helper()
	caKey, caCert := newCertificate(t, nil, nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "gatehouse test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	})
	serverKey, serverCert := newCertificate(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caCert.Raw)
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", serverCert.Raw)
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "server-key.pem"), "PRIVATE KEY", keyDER)
	return fmt.Sprintf("TLSCACertificateFile %[1]s/ca.pem\nTLSCertificateFile %[1]s/server.pem\nTLSCertificateKeyFile %[1]s/server-key.pem\n", dir)
}

// newCertificate signs tmpl with parentKey and parent, or self-signs it
// when parent is nil.
func newCertificate(t *testing.T, parentKey *ecdsa.PrivateKey, parent, tmpl *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func writePEM(t *testing.T, path, blockType string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
