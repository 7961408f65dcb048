package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Limits on the run flags, so that a load loop always ends.
const (
	maxLevelTime   = 10 * time.Minute // largest -warmup plus -duration per level
	maxTokenBytes  = 64 << 10         // largest token file
	defaultMaxReqs = 5_000_000
)

// runOptions holds the parsed flags of "loadcheck run".
type runOptions struct {
	target     string // host:port to dial, validated as loopback
	label      string
	levels     []int
	level      levelConfig // streams is set per level
	format     tableFormat
	cpuProfile string
	dialOpts   []grpc.DialOption // besides the transport credentials
}

// runCommand implements "loadcheck run".
func runCommand(ctx context.Context, args []string, stdout io.Writer) error {
	opts, err := parseRunFlags(args)
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(opts.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	// passthrough hands the IP address to the dialer unchanged, with no
	// resolver in between. One ClientConn is one HTTP/2 connection, so all
	// streams of a level are multiplexed on it.
	dialOpts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts.dialOpts...)
	conn, err := grpc.NewClient("passthrough:///"+opts.target, dialOpts...)
	if err != nil {
		return fmt.Errorf("run: connect to %s: %w", opts.target, err)
	}
	defer conn.Close()
	return runLevels(ctx, authv3.NewAuthorizationClient(conn), opts, stdout)
}

// runLevels runs each concurrency level in turn and prints each result as
// soon as its level ends.
func runLevels(ctx context.Context, client authv3.AuthorizationClient, opts runOptions, stdout io.Writer) error {
	out := &recordWriter{out: stdout, format: opts.format}
	for _, streams := range opts.levels {
		cfg := opts.level
		cfg.streams = streams
		slog.Info("level started", "streams", streams, "warmup", cfg.warmup, "duration", cfg.duration)
		res, err := runLevel(ctx, client, cfg)
		if err != nil {
			return fmt.Errorf("run: level of %d streams: %w", streams, err)
		}
		if err := out.Write(newRecord(opts.label, opts.target, cfg.expect, res)); err != nil {
			return fmt.Errorf("run: write result: %w", err)
		}
	}
	return nil
}

// runFlags holds the raw flag values before validation.
type runFlags struct {
	target, token, tokenFile, concurrency string
	duration, warmup, timeout             time.Duration
	maxRequests                           uint64
	method, path, host, expect, label     string
	json                                  bool
	cpuProfile                            string
	decode                                string
}

func parseRunFlags(args []string) (runOptions, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var f runFlags
	fs.StringVar(&f.target, "target", "127.0.0.1:9001", "loopback host:port of the ext_authz gRPC server to load")
	fs.StringVar(&f.tokenFile, "token-file", "", "file that contains the access token to send as a Bearer token")
	fs.StringVar(&f.token, "token", "", "access token to send (prefer -token-file, because other users can read command lines)")
	fs.StringVar(&f.concurrency, "concurrency", "1,8,64", fmt.Sprintf("comma-separated concurrency levels: concurrent Check streams on one connection, 1 to %d each", maxStreams))
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "measured time per level")
	fs.DurationVar(&f.warmup, "warmup", 2*time.Second, "unmeasured load before each level")
	fs.DurationVar(&f.timeout, "timeout", time.Second, "deadline of each Check, after which it counts as an error")
	fs.Uint64Var(&f.maxRequests, "requests-max", defaultMaxReqs, "measured Checks per level after which the level stops early")
	fs.StringVar(&f.method, "method", "GET", "HTTP method of the checked request")
	fs.StringVar(&f.path, "path", "/orders", "HTTP path of the checked request")
	fs.StringVar(&f.host, "host", "api.example.com", "HTTP host (:authority) of the checked request")
	fs.StringVar(&f.expect, "expect", "ok", "outcome that counts as success: ok (allowed), denied, or any response")
	fs.StringVar(&f.label, "label", "", "server name in the output (default: the target)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per level instead of a table")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the client to this file")
	fs.StringVar(&f.decode, "decode", "status", `how much of each CheckResponse to decode: "status" (the gRPC and HTTP status codes, all that -expect needs) or "full"`)
	if err := parseFlags(fs, args); err != nil {
		return runOptions{}, err
	}
	opts, err := f.validate()
	if err != nil {
		return runOptions{}, fmt.Errorf("run: %w: %w", errUsage, err)
	}
	return opts, nil
}

// validate checks the flags and turns them into runOptions. It reads the
// token file.
func (f runFlags) validate() (runOptions, error) {
	target, err := loopbackHostPort(f.target, dialPort)
	if err != nil {
		return runOptions{}, fmt.Errorf("-target: %w", err)
	}
	levels, err := parseLevels(f.concurrency)
	if err != nil {
		return runOptions{}, fmt.Errorf("-concurrency: %w", err)
	}
	if err := f.checkBounds(); err != nil {
		return runOptions{}, err
	}
	expect, err := parseExpectation(f.expect)
	if err != nil {
		return runOptions{}, err
	}
	token, err := f.loadToken()
	if err != nil {
		return runOptions{}, err
	}

	dialOpts, err := decodeDialOptions(f.decode)
	if err != nil {
		return runOptions{}, err
	}
	opts := runOptions{target: target, label: f.label, levels: levels, cpuProfile: f.cpuProfile, dialOpts: dialOpts}
	if opts.label == "" {
		opts.label = target
	}
	if f.json {
		opts.format = formatJSON
	}
	opts.level = levelConfig{
		warmup:      f.warmup,
		duration:    f.duration,
		maxRequests: f.maxRequests,
		timeout:     f.timeout,
		expect:      expect,
		shape:       requestShape{method: f.method, host: f.host, path: f.path, token: token},
	}
	return opts, nil
}

// decodeDialOptions returns the client options that -decode names.
func decodeDialOptions(decode string) ([]grpc.DialOption, error) {
	switch decode {
	case "full":
		return nil, nil
	case "status":
		return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.ForceCodecV2(statusCodec{}))}, nil
	}
	return nil, fmt.Errorf(`invalid -decode %q: want "status" or "full"`, decode)
}

// checkBounds makes sure every level ends in bounded time and count.
func (f runFlags) checkBounds() error {
	if f.duration <= 0 || f.warmup < 0 || f.warmup+f.duration > maxLevelTime {
		return fmt.Errorf("invalid -duration %s with -warmup %s: want a positive duration, and both together at most %s", f.duration, f.warmup, maxLevelTime)
	}
	if f.timeout <= 0 || f.timeout > time.Minute {
		return fmt.Errorf("invalid -timeout %s: want more than 0 and at most 1m", f.timeout)
	}
	if f.maxRequests == 0 {
		return errors.New("invalid -requests-max 0: want at least 1")
	}
	return nil
}

// loadToken returns the token from -token or -token-file, exactly one of
// which must be set. Errors never contain the token.
func (f runFlags) loadToken() (string, error) {
	if (f.token == "") == (f.tokenFile == "") {
		return "", errors.New("set exactly one of -token-file and -token")
	}
	token := f.token
	if f.tokenFile != "" {
		var err error
		if token, err = readTokenFile(f.tokenFile); err != nil {
			return "", err
		}
	}
	if err := checkTokenText(token); err != nil {
		return "", err
	}
	return token, nil
}

func readTokenFile(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("read token %s: %w", path, err)
	}
	if len(data) > maxTokenBytes {
		return "", fmt.Errorf("read token %s: file is larger than %d bytes", path, maxTokenBytes)
	}
	return string(bytes.TrimSpace(data)), nil
}

// checkTokenText rejects a token that would not fit in a header value as
// one Bearer credential.
func checkTokenText(token string) error {
	if token == "" {
		return errors.New("invalid token: empty")
	}
	for _, c := range []byte(token) {
		if c <= ' ' || c >= 0x7f {
			return errors.New("invalid token: contains whitespace, a control character or a non-ASCII byte")
		}
	}
	return nil
}
