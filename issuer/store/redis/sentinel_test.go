package redis_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/redis"
	"github.com/gatehouse-dev/gatehouse/issuer/store/storetest"
	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"
)

// sentinelMaster is the master name that the test Sentinel monitors.
const sentinelMaster = "gatehouse"

// topologyTimeout bounds each wait for replication, Sentinel discovery, a
// failover or a cluster to settle on loopback.
const topologyTimeout = 30 * time.Second

// lookRedisTool returns the path of a Redis program. It skips the test
// under -short when the program is missing, and fails it otherwise.
func lookRedisTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if testing.Short() {
		t.Skipf("%s not found in PATH and -short is set: %v", name, err)
	}
	t.Fatalf("%s not found in PATH (%v): run hack/install-test-deps.sh as root to install it", name, err)
	return ""
}

// pollUntil calls check every 50ms until it returns true, and fails the
// test when topologyTimeout passes first. The last error from check goes
// into the failure message.
func pollUntil(t testing.TB, what string, check func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(topologyTimeout)
	for {
		done, err := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", topologyTimeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infoField returns one field of a section of INFO on the server at addr.
func infoField(t testing.TB, addr, section, field string) (string, error) {
	client := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	defer client.Close()
	info, err := client.Info(t.Context(), section).Result()
	if err != nil {
		return "", err
	}
	return parseInfoField(info, field)
}

// parseInfoField returns the value of field in the "field:value" lines
// that INFO and CLUSTER INFO reply with.
func parseInfoField(info, field string) (string, error) {
	for line := range strings.SplitSeq(info, "\n") {
		if value, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return value, nil
		}
	}
	return "", fmt.Errorf("no field %s in %q", field, info)
}

// waitInfo waits until field of INFO section on addr has the value want.
func waitInfo(t testing.TB, addr, section, field, want string) {
	t.Helper()
	pollUntil(t, fmt.Sprintf("%s:%s on %s", field, want, addr), func() (bool, error) {
		got, err := infoField(t, addr, section, field)
		return got == want, err
	})
}

// startReplica starts a redis-server that replicates master, and waits
// until its link to the master is up.
func startReplica(t testing.TB, master *server) *server {
	t.Helper()
	host, port, err := net.SplitHostPort(master.addr)
	if err != nil {
		t.Fatalf("split master address %s: %v", master.addr, err)
	}
	replica := startServer(t, "--replicaof", host, port)
	waitInfo(t, replica.addr, "replication", "master_link_status", "up")
	return replica
}

// sentinelAuth is the pair of passwords of a Sentinel setup in which the Sentinel
// and the master each require their own password. The zero value is a
// setup without passwords.
type sentinelAuth struct {
	sentinelPassword string
	masterPassword   string
}

// startSentinel starts a Sentinel on a free loopback port that monitors
// master as sentinelMaster with a quorum of one, and stops it in t.Cleanup.
func startSentinel(t testing.TB, master *server) *server {
	t.Helper()
	return startAuthSentinel(t, master, sentinelAuth{})
}

// startAuthSentinel is startSentinel for a Sentinel that requires
// auth.sentinelPassword from its clients and authenticates to the master
// with auth.masterPassword. Sentinel rewrites its configuration file, so
// the file lives in the Sentinel's own temporary directory.
func startAuthSentinel(t testing.TB, master *server, auth sentinelAuth) *server {
	t.Helper()
	path := lookRedisTool(t, "redis-server")
	host, masterPort, err := net.SplitHostPort(master.addr)
	if err != nil {
		t.Fatalf("split master address %s: %v", master.addr, err)
	}
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))

	lines := []string{
		"port " + port,
		"bind 127.0.0.1",
		"dir " + dir,
		"sentinel announce-ip 127.0.0.1",
		fmt.Sprintf("sentinel monitor %s %s %s 1", sentinelMaster, host, masterPort),
		"sentinel down-after-milliseconds " + sentinelMaster + " 2000",
		"sentinel failover-timeout " + sentinelMaster + " 10000",
	}
	if auth.sentinelPassword != "" {
		lines = append(lines, "requirepass "+auth.sentinelPassword)
	}
	if auth.masterPassword != "" {
		lines = append(lines, fmt.Sprintf("sentinel auth-pass %s %s", sentinelMaster, auth.masterPassword))
	}
	confPath := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("write Sentinel configuration: %v", err)
	}

	s := &server{
		addr: net.JoinHostPort("127.0.0.1", port),
		dir:  dir,
		args: []string{confPath, "--sentinel"},
	}
	if auth.sentinelPassword == "" {
		s.start(t, path)
	} else {
		startWithPassword(t, s, path, auth.sentinelPassword)
	}
	t.Cleanup(s.kill)
	return s
}

// startWithPassword is server.start for a server that requires password.
// server.waitReady pings without a password, so it cannot be used here.
func startWithPassword(t testing.TB, s *server, path, password string) {
	t.Helper()
	s.logs = new(bytes.Buffer)
	s.cmd = exec.Command(path, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	client := goredis.NewClient(&goredis.Options{Addr: s.addr, Password: password, DisableIdentity: true})
	defer client.Close()
	deadline := time.Now().Add(startupTimeout)
	for {
		err := client.Ping(t.Context()).Err()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.kill()
			t.Fatalf("redis-server on %s did not respond to an authenticated PING: %v\n%s", s.addr, err, s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requirePassword makes srv require password from now on, through
// CONFIG SET, so that startServer can still ping it while it starts.
func requirePassword(t testing.TB, srv *server, password string) {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: srv.addr, DisableIdentity: true})
	defer client.Close()
	if err := client.ConfigSet(t.Context(), "requirepass", password).Err(); err != nil {
		t.Fatalf("CONFIG SET requirepass on %s: %v", srv.addr, err)
	}
}

// sentinelClient returns a client for Sentinel commands, closed in
// t.Cleanup.
func sentinelClient(t testing.TB, sentinel *server) *goredis.SentinelClient {
	t.Helper()
	return authSentinelClient(t, sentinel, "")
}

// authSentinelClient is sentinelClient for a Sentinel that requires
// password. An empty password sends no AUTH.
func authSentinelClient(t testing.TB, sentinel *server, password string) *goredis.SentinelClient {
	t.Helper()
	client := goredis.NewSentinelClient(&goredis.Options{Addr: sentinel.addr, Password: password, DisableIdentity: true})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// waitMaster waits until the Sentinel reports addr as the master's address.
func waitMaster(t testing.TB, client *goredis.SentinelClient, addr string) {
	t.Helper()
	pollUntil(t, "Sentinel to report master "+addr, func() (bool, error) {
		got, err := client.GetMasterAddrByName(t.Context(), sentinelMaster).Result()
		if err != nil || len(got) != 2 {
			return false, err
		}
		return net.JoinHostPort(got[0], got[1]) == addr, nil
	})
}

// waitReplicaKnown waits until the Sentinel lists replica as a healthy
// replica of the master, which SENTINEL FAILOVER needs to promote it.
func waitReplicaKnown(t testing.TB, client *goredis.SentinelClient, replica *server) {
	t.Helper()
	pollUntil(t, "Sentinel to list replica "+replica.addr, func() (bool, error) {
		replicas, err := client.Replicas(t.Context(), sentinelMaster).Result()
		if err != nil {
			return false, err
		}
		for _, r := range replicas {
			if net.JoinHostPort(r["ip"], r["port"]) == replica.addr && r["flags"] == "slave" {
				return true, nil
			}
		}
		return false, fmt.Errorf("replica %s not listed as healthy yet, replicas: %v", replica.addr, replicas)
	})
}

// sentinelOptions returns the ClientOptions that cmd/gatehouse builds from
// --redis-address=<sentinel> and --redis-master-name, with no username,
// password file or database flag.
func sentinelOptions(sentinel *server) redis.ClientOptions {
	return redis.ClientOptions{
		Addresses:  []string{sentinel.addr},
		MasterName: sentinelMaster,
	}
}

// openSentinelStore opens a store with opts, converted by
// ClientOptions.UniversalOptions as cmd/gatehouse does, and closes it in
// t.Cleanup.
func openSentinelStore(t *testing.T, opts redis.ClientOptions, keyPrefix string) *redis.Store {
	t.Helper()
	universal, err := opts.UniversalOptions()
	if err != nil {
		t.Fatalf("UniversalOptions: %v", err)
	}
	s, err := redis.Open(t.Context(), universal, keyPrefix)
	if err != nil {
		t.Fatalf("Open through Sentinel %v: %v", opts.Addresses, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSentinelContract(t *testing.T) {
	lookRedisTool(t, "redis-server")
	master := startServer(t)
	sentinel := startSentinel(t, master)
	waitMaster(t, sentinelClient(t, sentinel), master.addr)

	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return openSentinelStore(t, sentinelOptions(sentinel), prefix(n))
	})
}

// startAuthSentinelSetup starts a master that requires auth.masterPassword
// and a Sentinel that requires auth.sentinelPassword, and waits until the
// Sentinel reports the master.
func startAuthSentinelSetup(t *testing.T, auth sentinelAuth) (master, sentinel *server) {
	t.Helper()
	lookRedisTool(t, "redis-server")
	master = startServer(t)
	requirePassword(t, master, auth.masterPassword)
	sentinel = startAuthSentinel(t, master, auth)
	waitMaster(t, authSentinelClient(t, sentinel, auth.sentinelPassword), master.addr)
	return master, sentinel
}

func TestSentinelAuthContract(t *testing.T) {
	auth := sentinelAuth{sentinelPassword: "sentinel-secret", masterPassword: "master-secret"}
	_, sentinel := startAuthSentinelSetup(t, auth)
	opts := sentinelOptions(sentinel)
	opts.Password = auth.masterPassword
	opts.SentinelPassword = auth.sentinelPassword

	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return openSentinelStore(t, opts, prefix(n))
	})
}

func TestSentinelAuthFailure(t *testing.T) {
	auth := sentinelAuth{sentinelPassword: "sentinel-secret", masterPassword: "master-secret"}
	_, sentinel := startAuthSentinelSetup(t, auth)

	tests := []struct {
		name             string
		password         string
		sentinelPassword string
		wantErr          string
	}{
		{name: "no sentinel password", password: auth.masterPassword, wantErr: "NOAUTH Authentication required"},
		{name: "wrong sentinel password", password: auth.masterPassword, sentinelPassword: "wrong", wantErr: "WRONGPASS"},
		{name: "no master password", sentinelPassword: auth.sentinelPassword, wantErr: "NOAUTH Authentication required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := sentinelOptions(sentinel)
			opts.Password = tt.password
			opts.SentinelPassword = tt.sentinelPassword
			universal, err := opts.UniversalOptions()
			if err != nil {
				t.Fatalf("UniversalOptions: %v", err)
			}
			s, err := redis.Open(t.Context(), universal, "auth:")
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded, want an authentication error")
			}
			if !goredis.IsAuthError(err) {
				t.Errorf("Open: got error %v, want one that goredis.IsAuthError reports", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open: got error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSentinelFailoverKeepsRefreshToken(t *testing.T) {
	lookRedisTool(t, "redis-server")
	master := startServer(t)
	replica := startReplica(t, master)
	sentinel := startSentinel(t, master)
	sentinels := sentinelClient(t, sentinel)
	waitMaster(t, sentinels, master.addr)
	waitReplicaKnown(t, sentinels, replica)

	s := openSentinelStore(t, sentinelOptions(sentinel), "failover:")
	ctx := t.Context()
	t0 := time.Now().Truncate(time.Second)
	first := storetest.Token("first", "f1", t0.Add(time.Hour))
	first.IssuedAt = t0
	if err := s.Put(ctx, first); err != nil {
		t.Fatalf("Put: %v", err)
	}
	second := storetest.Successor(first, "second", t0)
	if _, err := s.Rotate(ctx, first.Hash, second); err != nil {
		t.Fatalf("Rotate before the failover: %v", err)
	}
	waitReplicated(t, master)

	if err := sentinels.Failover(ctx, sentinelMaster).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	waitMaster(t, sentinels, replica.addr)
	waitInfo(t, replica.addr, "replication", "role", "master")
	// Once the old master is a replica, a write that still reaches it fails
	// with READONLY instead of being lost. Sentinel demotes it only after
	// its next periodic INFO poll of that server, which can take over 10s.
	waitInfo(t, master.addr, "replication", "role", "slave")

	got, err := s.Get(ctx, second.Hash, t0)
	if err != nil {
		t.Fatalf("Get the token written before the failover: %v", err)
	}
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("token after the failover (-want +got):\n%s", diff)
	}
	third := storetest.Successor(second, "third", t0.Add(time.Minute))
	if _, err := s.Rotate(ctx, second.Hash, third); err != nil {
		t.Fatalf("Rotate after the failover: %v", err)
	}
	checkOnServer(t, replica, "failover:", third)

	// The first token was marked used before the failover, so presenting
	// it again must still count as reuse, which also revokes the family.
	if _, err := s.Get(ctx, first.Hash, t0); !errors.Is(err, store.ErrReused) {
		t.Errorf("Get the token used before the failover: got error %v, want ErrReused", err)
	}
}

// waitReplicated waits until every write on master so far has reached one
// replica. WAIT covers only the writes of its own connection, so it follows
// a write of a marker key on the same connection: the replication offset
// of that write is past every earlier write of the store.
func waitReplicated(t *testing.T, master *server) {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: master.addr, DisableIdentity: true})
	defer client.Close()
	conn := client.Conn()
	defer conn.Close()

	ctx := t.Context()
	if err := conn.Set(ctx, "replication-marker", "1", time.Minute).Err(); err != nil {
		t.Fatalf("SET the marker key on master %s: %v", master.addr, err)
	}
	acked, err := conn.Do(ctx, "WAIT", 1, topologyTimeout.Milliseconds()).Int()
	if err != nil {
		t.Fatalf("WAIT on master %s: %v", master.addr, err)
	}
	if acked < 1 {
		t.Fatalf("WAIT on master %s: %d replicas acknowledged the writes, want 1", master.addr, acked)
	}
}

// checkOnServer reads token from srv directly, without Sentinel, to show
// that the store wrote it to that server.
func checkOnServer(t *testing.T, srv *server, keyPrefix string, token store.RefreshToken) {
	t.Helper()
	direct := openStore(t, srv, keyPrefix)
	got, err := direct.Get(t.Context(), token.Hash, token.IssuedAt)
	if err != nil {
		t.Fatalf("Get from %s directly: %v", srv.addr, err)
	}
	if diff := cmp.Diff(token, got); diff != "" {
		t.Errorf("token on %s (-want +got):\n%s", srv.addr, diff)
	}
}
