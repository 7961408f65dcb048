package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: loadcheck <command> [flags]

commands:
  floor   serve an empty Check that always allows (the transport floor)
  run     load a Check server and report latency and throughput per level
  token   fetch an access token from the issuer and write it to a file
  report  render JSON lines from "run -json" as a table

Run "loadcheck <command> -h" for the flags of a command.
`

// errUsage marks a command line that loadcheck cannot run, so main exits 2.
var errUsage = errors.New("invalid command line")

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if errors.Is(err, errUsage) {
		fmt.Fprintln(os.Stderr, "loadcheck:", err)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadcheck:", err)
		os.Exit(1)
	}
}

// dispatch runs the subcommand named by args[0].
func dispatch(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("missing command: %w", errUsage)
	}
	switch args[0] {
	case "floor":
		return floorCommand(ctx, args[1:])
	case "run":
		return runCommand(ctx, args[1:], stdout)
	case "token":
		return tokenCommand(ctx, args[1:])
	case "report":
		return reportCommand(args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q: %w", args[0], errUsage)
}
