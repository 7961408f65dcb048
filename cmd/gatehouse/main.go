// Command gatehouse is the main Gatehouse binary. Each part of the system
// is a subcommand: issuer, extauthz, controller (which runs the separate
// gatehouse-controller binary), dev (issuer and extauthz on one machine, no
// cluster), and helpers to hash passwords and client secrets.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one gatehouse subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = []command{
	{name: "issuer", summary: "Run the OAuth2 authorization server.", run: runIssuer},
	{name: "extauthz", summary: "Run the Envoy external-authorization server (gRPC and HTTP check).", run: runExtAuthz},
	{name: "controller", summary: "Run the Kubernetes controller (the gatehouse-controller binary next to this one).", run: runController},
	{name: "dev", summary: "Run the issuer and the check together on this machine with a demo user and client.", run: runDev},
	{name: "hash-password", summary: "Read a password on standard input and print its argon2id hash for a users file.", run: runHashPassword},
	{name: "hash-secret", summary: "Read a client secret on standard input and print its SHA-256 hash for a clients file.", run: runHashSecret},
	{name: "version", summary: "Print the version.", run: runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		if err := c.run(ctx, args[1:], stdin, stdout, stderr); err != nil {
			if isHelp(err) {
				return 2
			}
			fmt.Fprintf(stderr, "gatehouse %s: %v\n", c.name, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: gatehouse <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'gatehouse <command> -h' for the flags of a command.")
}

func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("version", "Prints the version of this binary.", stderr)
	if err := cli.Parse(fs, args, nil); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "gatehouse %s\n", version)
	return err
}
