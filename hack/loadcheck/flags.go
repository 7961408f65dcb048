package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// maxStreams is the largest concurrency level run accepts. Each stream keeps
// its own latency histogram of about 16 KiB, so 1024 streams stay near 16 MiB.
const maxStreams = 1024

// parseFlags parses args into fs, then fills every flag not given on the
// command line from its environment variable (see envName).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %w", fs.Name(), errUsage, err)
	}
	if fs.NArg() > 0 && fs.Name() != "report" {
		return fmt.Errorf("%s: unexpected argument %q: %w", fs.Name(), fs.Arg(0), errUsage)
	}
	if err := applyEnv(fs, os.LookupEnv); err != nil {
		return fmt.Errorf("%s: %w: %w", fs.Name(), errUsage, err)
	}
	return nil
}

// applyEnv sets each flag of fs that the command line left unset from the
// variable that lookup returns for envName(flag). The error names the
// variable but never its value, which may be a secret.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] {
			return
		}
		value, ok := lookup(envName(f.Name))
		if !ok {
			return
		}
		if err := f.Value.Set(value); err != nil {
			errs = append(errs, fmt.Errorf("invalid value in %s", envName(f.Name)))
		}
	})
	return errors.Join(errs...)
}

// envName returns the environment variable for a flag: "token-file" becomes
// LOADCHECK_TOKEN_FILE.
func envName(flagName string) string {
	return "LOADCHECK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseLevels parses a comma-separated list of concurrency levels such as
// "1,8,64". Each level must be between 1 and maxStreams.
func parseLevels(list string) ([]int, error) {
	if strings.TrimSpace(list) == "" {
		return nil, errors.New("empty concurrency list, want for example 1,8,64")
	}
	var levels []int
	for field := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return nil, fmt.Errorf("invalid concurrency level %q: want an integer", field)
		}
		if n < 1 || n > maxStreams {
			return nil, fmt.Errorf("invalid concurrency level %d: want 1 to %d", n, maxStreams)
		}
		levels = append(levels, n)
	}
	return levels, nil
}
