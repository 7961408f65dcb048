package kubesource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/keyset"
	"github.com/gatehouse-dev/gatehouse/internal/kube"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// logBuffer collects JSON log lines and is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count returns the number of log lines whose message is msg.
func (b *logBuffer) count(msg string) int {
	n := 0
	for line := range strings.Lines(b.String()) {
		var entry struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == msg {
			n++
		}
	}
	return n
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestSource returns a Source whose update a test calls directly, with
// no API server behind it.
func newTestSource(t *testing.T) (*Source, *logBuffer, *prometheus.Registry) {
	t.Helper()
	c, err := kube.NewClient(&kube.Config{Server: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	s, err := New(Options{Client: c, Namespace: "gatehouse", Logger: logs.logger(), Metrics: reg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, logs, reg
}

// clientYAML returns a clients file with one confidential
// client_credentials client per ID, whose secret is "secret-" + ID.
func clientYAML(ids ...string) string {
	var b strings.Builder
	b.WriteString("clients:\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "  - clientID: %s\n    secretHashes: [%q]\n    grantTypes: [client_credentials]\n    audiences: [demo-api]\n",
			id, clients.HashSecret("secret-"+id))
	}
	return b.String()
}

func registrationSecret(name, resourceVersion, clientsFile string) kube.Secret {
	return kube.Secret{
		Name: name, Namespace: "gatehouse", ResourceVersion: resourceVersion,
		Labels: map[string]string{keyset.LabelRegistration: ClientLabelValue},
		Data:   map[string][]byte{ClientsDataKey: []byte(clientsFile)},
	}
}

func keySetSecret(t *testing.T, resourceVersion string, active *jose.SigningKey, others ...keyset.Key) kube.Secret {
	t.Helper()
	data := marshalKeySet(t, active, others...)
	return kube.Secret{
		Name: keyset.DefaultSecretName, Namespace: "gatehouse", ResourceVersion: resourceVersion,
		Labels: map[string]string{keyset.LabelRegistration: keyset.LabelValue},
		Data:   map[string][]byte{keyset.SecretDataKey: data},
	}
}

// marshalKeySet encodes a set with active as its active key.
func marshalKeySet(t *testing.T, active *jose.SigningKey, others ...keyset.Key) []byte {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	set := &keyset.Set{Keys: append([]keyset.Key{{Signing: active, State: keyset.StateActive, Created: now, Activated: now}}, others...)}
	data, err := keyset.Marshal(set)
	if err != nil {
		t.Fatalf("marshal key set: %v", err)
	}
	return data
}

func generateKey(t *testing.T, alg jose.Algorithm) *jose.SigningKey {
	t.Helper()
	key, err := jose.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func secretsOf(list ...kube.Secret) map[string]kube.Secret {
	m := map[string]kube.Secret{}
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}

// knownClients returns the IDs among ids for which the source has a client.
func knownClients(s *Source, ids ...string) map[string]bool {
	known := map[string]bool{}
	for _, id := range ids {
		if _, ok := s.Client(id); ok {
			known[id] = true
		}
	}
	return known
}

func TestUpdateMergesRegistrations(t *testing.T) {
	s, logs, reg := newTestSource(t)
	invalid := registrationSecret("c-invalid", "12", "clients:\n  - clientID: broken\n    grantTypes: [implicit]\n")
	noData := registrationSecret("d-no-data", "13", "")
	delete(noData.Data, ClientsDataKey)
	secrets := secretsOf(
		registrationSecret("b-second", "11", clientYAML("shared", "z")),
		registrationSecret("a-first", "10", clientYAML("x", "shared")),
		invalid, noData,
	)
	s.update(secrets)

	got := knownClients(s, "x", "shared", "z", "broken")
	if diff := cmp.Diff(map[string]bool{"x": true, "shared": true, "z": true}, got); diff != "" {
		t.Errorf("known clients mismatch (-want +got):\n%s", diff)
	}
	shared, _ := s.Client("shared")
	if !shared.VerifySecret("secret-shared") {
		t.Error("client shared does not come from a-first, the Secret whose name sorts first")
	}
	if n := gaugeValue(t, reg, "gatehouse_issuer_registered_clients"); n != 3 {
		t.Errorf("gatehouse_issuer_registered_clients = %v, want 3", n)
	}

	// The same versions again: nothing is parsed or logged twice.
	s.update(maps.Clone(secrets))
	if n := logs.count("registration Secret invalid, skipping it"); n != 2 {
		t.Errorf("got %d invalid-Secret log lines after two updates, want 2 (one per invalid Secret version)", n)
	}
	if n := logs.count("client ID registered by two Secrets, using the Secret whose name sorts first"); n != 1 {
		t.Errorf("got %d duplicate log lines after two updates, want 1", n)
	}
	for _, want := range []string{"secretHashes: missing for a confidential client", "data key clients.yaml is missing"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs do not contain %q:\n%s", want, logs)
		}
	}

	// a-first is deleted: x goes, and shared now comes from b-second.
	delete(secrets, "a-first")
	s.update(maps.Clone(secrets))
	got = knownClients(s, "x", "shared", "z")
	if diff := cmp.Diff(map[string]bool{"shared": true, "z": true}, got); diff != "" {
		t.Errorf("known clients after the delete mismatch (-want +got):\n%s", diff)
	}
	if shared, _ := s.Client("shared"); !shared.VerifySecret("secret-shared") {
		t.Error("client shared is not taken over by b-second")
	}
}

func TestUpdateEditedRegistration(t *testing.T) {
	s, _, _ := newTestSource(t)
	s.update(secretsOf(registrationSecret("app", "1", clientYAML("app"))))
	edited := registrationSecret("app", "2", strings.Replace(clientYAML("app"), clients.HashSecret("secret-app"), clients.HashSecret("rotated"), 1))
	s.update(secretsOf(edited))
	c, ok := s.Client("app")
	if !ok {
		t.Fatal("client app unknown after the edit")
	}
	if c.VerifySecret("secret-app") || !c.VerifySecret("rotated") {
		t.Error("client app still accepts the old secret or rejects the new one after the edit")
	}
}

func TestUpdateKeysKeepsLastGood(t *testing.T) {
	s, logs, _ := newTestSource(t)
	if s.Ready() {
		t.Fatal("Ready() = true before the first list, want false")
	}
	s.update(secretsOf())
	if s.Ready() || s.SigningKeys() != nil {
		t.Fatal("ready or keys present without a key-set Secret, want neither")
	}

	first := generateKey(t, jose.ES256)
	s.update(secretsOf(keySetSecret(t, "5", first)))
	good := s.SigningKeys()
	if !s.Ready() || good == nil || good.ActiveKeyID() != first.ID {
		t.Fatalf("after a valid key set: Ready() = %v, keys %v; want ready with kid %s", s.Ready(), good, first.ID)
	}

	broken := keySetSecret(t, "6", first)
	broken.Data[keyset.SecretDataKey] = []byte(`{"keys":[]}`)
	s.update(secretsOf(broken))
	if s.SigningKeys() != good {
		t.Error("an invalid key set replaced the last good one")
	}
	relabelled := keySetSecret(t, "7", generateKey(t, jose.ES256))
	relabelled.Labels[keyset.LabelRegistration] = ClientLabelValue
	s.update(secretsOf(relabelled))
	if s.SigningKeys() != good {
		t.Error("a key-set Secret without the signing-keys label replaced the last good set")
	}
	s.update(secretsOf())
	if s.SigningKeys() != good || !s.Ready() {
		t.Error("a deleted key-set Secret dropped the last good keys or readiness")
	}

	if n := logs.count("signing-key Secret invalid, keeping the last good keys"); n != 2 {
		t.Errorf("got %d invalid key set log lines, want 2", n)
	}
	if n := logs.count("signing-key Secret not found, waiting for the controller to create it; token requests fail until then"); n != 1 {
		t.Errorf("got %d log lines of a key set not yet created, want 1 (before the first set)", n)
	}
	if n := logs.count("signing-key Secret not found, keeping the last good keys"); n != 1 {
		t.Errorf("got %d log lines of a deleted key set, want 1 (after the delete)", n)
	}
	if strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Error("logs contain a private key")
	}
}

func TestUpdateKeysRotation(t *testing.T) {
	s, logs, _ := newTestSource(t)
	first, second := generateKey(t, jose.ES256), generateKey(t, jose.ES256)
	now := time.Now().UTC().Truncate(time.Second)
	s.update(secretsOf(keySetSecret(t, "1", first, keyset.Key{Signing: second, State: keyset.StateNext, Created: now})))
	s.update(secretsOf(keySetSecret(t, "2", second,
		keyset.Key{Signing: first, State: keyset.StateRetiring, Created: now, Activated: now, Retired: now})))
	if got := s.SigningKeys().ActiveKeyID(); got != second.ID {
		t.Errorf("active kid after rotation = %s, want %s", got, second.ID)
	}
	if n := logs.count("active signing key changed"); n != 1 {
		t.Errorf("got %d active key change log lines, want 1", n)
	}
}

func TestLogsNameNoSecrets(t *testing.T) {
	s, logs, _ := newTestSource(t)
	bad := registrationSecret("bad", "1", "clients: [")
	s.update(secretsOf(bad, registrationSecret("app", "2", clientYAML("app")), keySetSecret(t, "3", generateKey(t, jose.RS256))))
	for _, forbidden := range []string{"secret-app", "PRIVATE KEY", clients.HashSecret("secret-app")} {
		if strings.Contains(logs.String(), forbidden) {
			t.Errorf("logs contain %q:\n%s", forbidden, logs)
		}
	}
}

// gaugeValue returns the value of the gauge called name in reg.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
		names = append(names, f.GetName())
	}
	t.Fatalf("metric %s not registered; have %v", name, names)
	return 0
}
