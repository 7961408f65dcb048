package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/internal/serve"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/bolt"
	"github.com/gatehouse-dev/gatehouse/issuer/store/redis"
)

// storeOptions are the flags that choose where the issuer keeps refresh
// tokens, revocations and login-failure counters.
type storeOptions struct {
	kind              string
	path              string
	redisAddresses    cli.StringList
	redisMasterName   string
	redisUsername     string
	redisPasswordFile string
	// Sentinels can require credentials of their own, separate from the
	// data nodes' ACL user and password.
	redisSentinelUsername     string
	redisSentinelPasswordFile string
	redisDB                   int
	redisPrefix               string
}

func (o *storeOptions) addFlags(fs *flag.FlagSet, defaultKind string) {
	fs.StringVar(&o.kind, "store", defaultKind, `where refresh tokens, revocations and login-failure counters live: "embedded" (a file, one issuer replica), "redis" (several replicas) or "memory" (lost on restart)`)
	fs.StringVar(&o.path, "store-path", "gatehouse.db", "file of the embedded store")
	fs.Var(&o.redisAddresses, "redis-address", "Redis host:port; repeat or separate with commas for Cluster or Sentinel addresses")
	fs.StringVar(&o.redisMasterName, "redis-master-name", "", "Sentinel master name; set it when --redis-address lists Sentinels")
	fs.StringVar(&o.redisUsername, "redis-username", "", "Redis ACL username")
	fs.StringVar(&o.redisPasswordFile, "redis-password-file", "", "file holding the Redis password, such as a mounted Secret")
	fs.StringVar(&o.redisSentinelUsername, "redis-sentinel-username", "", "ACL username for the Sentinels themselves; needs --redis-master-name")
	fs.StringVar(&o.redisSentinelPasswordFile, "redis-sentinel-password-file", "", "file holding the password of the Sentinels themselves (their requirepass), such as a mounted Secret; needs --redis-master-name")
	fs.IntVar(&o.redisDB, "redis-db", 0, "Redis database number (single server and Sentinel only)")
	fs.StringVar(&o.redisPrefix, "redis-prefix", redis.DefaultPrefix, "prefix of every Redis key, so several issuers can share a server")
}

// nopCloser closes nothing, for the memory store.
type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// open opens the store the flags name, with the Closer that releases it.
func (o *storeOptions) open(ctx context.Context, log *slog.Logger) (store.Store, io.Closer, error) {
	switch o.kind {
	case "memory":
		return store.NewMemory(), nopCloser{}, nil
	case "embedded":
		s, err := bolt.Open(o.path, bolt.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("open --store-path %s: %w", o.path, err)
		}
		return s, s, nil
	case "redis":
		return o.openRedis(ctx, log)
	}
	return nil, nil, fmt.Errorf(`invalid --store %q: use "embedded", "redis" or "memory"`, o.kind)
}

func (o *storeOptions) openRedis(ctx context.Context, log *slog.Logger) (store.Store, io.Closer, error) {
	clientOpts, err := o.redisClientOptions()
	if err != nil {
		return nil, nil, err
	}
	opts, err := clientOpts.UniversalOptions()
	if err != nil {
		return nil, nil, err
	}
	redis.SetLogger(log)
	s, err := redis.Open(ctx, opts, o.redisPrefix)
	if goredis.IsAuthError(err) {
		return nil, nil, fmt.Errorf("connect to Redis at %s: authentication failed: check --redis-username and --redis-password-file, and with --redis-master-name also --redis-sentinel-username and --redis-sentinel-password-file: %w", strings.Join(o.redisAddresses, ","), err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("connect to Redis at %s: %w", strings.Join(o.redisAddresses, ","), err)
	}
	return s, s, nil
}

// redisClientOptions checks the --redis-* flags and reads the password
// files they name.
func (o *storeOptions) redisClientOptions() (redis.ClientOptions, error) {
	if len(o.redisAddresses) == 0 {
		return redis.ClientOptions{}, fmt.Errorf("--store=redis needs --redis-address")
	}
	if o.redisMasterName == "" && (o.redisSentinelUsername != "" || o.redisSentinelPasswordFile != "") {
		return redis.ClientOptions{}, fmt.Errorf("--redis-sentinel-username and --redis-sentinel-password-file need --redis-master-name: set it to the master name that the Sentinels monitor, or remove them")
	}
	password, err := readPasswordFile("--redis-password-file", o.redisPasswordFile)
	if err != nil {
		return redis.ClientOptions{}, err
	}
	sentinelPassword, err := readPasswordFile("--redis-sentinel-password-file", o.redisSentinelPasswordFile)
	if err != nil {
		return redis.ClientOptions{}, err
	}
	return redis.ClientOptions{
		Addresses:        o.redisAddresses,
		MasterName:       o.redisMasterName,
		Username:         o.redisUsername,
		Password:         password,
		SentinelUsername: o.redisSentinelUsername,
		SentinelPassword: sentinelPassword,
		DB:               o.redisDB,
	}, nil
}

// readPasswordFile returns the contents of path without trailing line
// breaks, or "" when path is empty. flagName goes into the error.
func readPasswordFile(flagName, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", flagName, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// storeReadiness is ready while the store replies to a ping. A store that
// cannot be pinged, embedded or memory, is always ready.
func storeReadiness(st store.Store) serve.Readiness {
	pinger, ok := st.(interface{ Ping(context.Context) error })
	if !ok {
		return serve.Readiness{}
	}
	return serve.Readiness{Ready: func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), storePingTimeout)
		defer cancel()
		return pinger.Ping(ctx) == nil
	}}
}

// storePingTimeout bounds the readiness probe's ping of the store.
const storePingTimeout = time.Second
