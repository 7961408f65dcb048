package main

import (
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/issuer/store/redis"
)

// writeSecretFile writes content to a new file in a temporary directory
// and returns its path.
func writeSecretFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return path
}

func TestRedisClientOptions(t *testing.T) {
	password := writeSecretFile(t, "password", "data-secret\n")
	sentinelPassword := writeSecretFile(t, "sentinel-password", "sentinel-secret\r\n")
	missing := filepath.Join(t.TempDir(), "missing")

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    redis.ClientOptions
		wantErr string
	}{
		{
			name: "single server",
			args: []string{"--redis-address=127.0.0.1:6379", "--redis-db=3"},
			want: redis.ClientOptions{Addresses: []string{"127.0.0.1:6379"}, DB: 3},
		},
		{
			name: "sentinel with both passwords",
			args: []string{
				"--redis-address=127.0.0.1:26379,127.0.0.1:26380",
				"--redis-master-name=gatehouse",
				"--redis-username=issuer",
				"--redis-password-file=" + password,
				"--redis-sentinel-username=watcher",
				"--redis-sentinel-password-file=" + sentinelPassword,
			},
			want: redis.ClientOptions{
				Addresses:        []string{"127.0.0.1:26379", "127.0.0.1:26380"},
				MasterName:       "gatehouse",
				Username:         "issuer",
				Password:         "data-secret",
				SentinelUsername: "watcher",
				SentinelPassword: "sentinel-secret",
			},
		},
		{
			name: "sentinel password from environment",
			args: []string{"--redis-address=127.0.0.1:26379", "--redis-master-name=gatehouse"},
			env:  map[string]string{"GATEHOUSE_REDIS_SENTINEL_PASSWORD_FILE": sentinelPassword},
			want: redis.ClientOptions{
				Addresses:        []string{"127.0.0.1:26379"},
				MasterName:       "gatehouse",
				SentinelPassword: "sentinel-secret",
			},
		},
		{
			name:    "no address",
			args:    []string{"--redis-master-name=gatehouse"},
			wantErr: "--store=redis needs --redis-address",
		},
		{
			name:    "sentinel password without master name",
			args:    []string{"--redis-address=127.0.0.1:26379", "--redis-sentinel-password-file=" + sentinelPassword},
			wantErr: "--redis-sentinel-username and --redis-sentinel-password-file need --redis-master-name: set it to the master name that the Sentinels monitor, or remove them",
		},
		{
			name:    "sentinel username without master name",
			args:    []string{"--redis-address=127.0.0.1:26379", "--redis-sentinel-username=watcher"},
			wantErr: "--redis-sentinel-username and --redis-sentinel-password-file need --redis-master-name",
		},
		{
			name:    "missing sentinel password file",
			args:    []string{"--redis-address=127.0.0.1:26379", "--redis-master-name=gatehouse", "--redis-sentinel-password-file=" + missing},
			wantErr: "read --redis-sentinel-password-file: open " + missing,
		},
		{
			name:    "missing password file",
			args:    []string{"--redis-address=127.0.0.1:6379", "--redis-password-file=" + missing},
			wantErr: "read --redis-password-file: open " + missing,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o storeOptions
			fs := cli.NewFlagSet("issuer", "test", io.Discard)
			o.addFlags(fs, "redis")
			lookup := func(name string) (string, bool) {
				v, ok := tt.env[name]
				return v, ok
			}
			if err := cli.Parse(fs, tt.args, lookup); err != nil {
				t.Fatalf("parse %q: %v", tt.args, err)
			}

			got, err := o.redisClientOptions()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("redisClientOptions: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("client options mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpenRedisSentinelWithoutMaster checks that the flag error comes
// before any connection attempt, so the address need not exist.
func TestOpenRedisSentinelWithoutMaster(t *testing.T) {
	o := storeOptions{
		kind:                  "redis",
		redisAddresses:        cli.StringList{"127.0.0.1:1"},
		redisSentinelUsername: "watcher",
	}
	_, _, err := o.open(t.Context(), nil)
	want := "--redis-sentinel-username and --redis-sentinel-password-file need --redis-master-name"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("open: got error %v, want it to contain %q", err, want)
	}
}

// startRedisWithPassword starts redis-server on a free loopback port with
// requirepass set, stops it in t.Cleanup and returns its address once it
// accepts TCP connections. It skips the test under -short when
// redis-server is missing.
func startRedisWithPassword(t *testing.T, password string) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if testing.Short() {
			t.Skipf("redis-server not found in PATH and -short is set: %v", err)
		}
		t.Fatalf("redis-server not found in PATH (%v): run hack/install-test-deps.sh as root to install it", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir(), "--requirepass", password)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	addr := net.JoinHostPort("127.0.0.1", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not accept connections: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOpenRedisWrongPassword(t *testing.T) {
	addr := startRedisWithPassword(t, "data-secret")
	o := storeOptions{
		kind:              "redis",
		redisAddresses:    cli.StringList{addr},
		redisPasswordFile: writeSecretFile(t, "password", "not-the-password-7f3a\n"),
		redisPrefix:       "test:",
	}
	st, _, err := o.open(t.Context(), slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatalf("open with the wrong password succeeded on %s (store %T), want an authentication error", addr, st)
	}
	want := "connect to Redis at " + addr + ": authentication failed: check --redis-username and --redis-password-file, and with --redis-master-name also --redis-sentinel-username and --redis-sentinel-password-file"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("open: got error %v, want it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "data-secret") || strings.Contains(err.Error(), "not-the-password-7f3a") {
		t.Errorf("open: error %q contains a password", err)
	}
}
