package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// EnvPrefix starts the environment variable read for each flag:
// --issuer-url becomes GATEHOUSE_ISSUER_URL.
const EnvPrefix = "GATEHOUSE_"

// EnvName returns the environment variable read for the flag called name.
func EnvName(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// NewFlagSet returns a flag set for a subcommand whose usage text lists each
// flag with its environment variable.
func NewFlagSet(command, summary string, output io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: gatehouse %s [flags]\n\n%s\n", command, summary)
		if hasFlags(fs) {
			fmt.Fprintln(output, "\nFlags (each also read from the environment variable shown):")
		}
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(output, "  --%s (%s)\n    \t%s%s\n", f.Name, EnvName(f.Name), f.Usage, defaultNote(f))
		})
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	found := false
	fs.VisitAll(func(*flag.Flag) { found = true })
	return found
}

// defaultNote returns " (default X)" for a flag whose help text does not
// already state its default.
func defaultNote(f *flag.Flag) string {
	if f.DefValue == "" || f.DefValue == "0" || f.DefValue == "0s" || strings.Contains(f.Usage, "(default") {
		return ""
	}
	return fmt.Sprintf(" (default %q)", f.DefValue)
}

// Parse parses args, then fills each flag that was not given on the command
// line from its environment variable. A command-line value wins over the
// environment, and the environment wins over the default.
func Parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: gatehouse %s takes flags only", fs.Arg(0), fs.Name())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		value, ok := lookup(EnvName(f.Name))
		if set[f.Name] || !ok {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %q for %s: %w", value, EnvName(f.Name), err))
		}
	})
	return errors.Join(errs...)
}

// StringList is a flag that may be repeated or given as a comma-separated
// list; each occurrence on the command line adds to the list.
type StringList []string

// String implements flag.Value.
func (l *StringList) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *StringList) Set(value string) error {
	for _, v := range strings.Split(value, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// PositiveDuration is a time.Duration flag that rejects zero and negative values.
type PositiveDuration time.Duration

// String implements flag.Value.
func (d *PositiveDuration) String() string { return time.Duration(*d).String() }

// Set implements flag.Value.
func (d *PositiveDuration) Set(value string) error {
	v, err := time.ParseDuration(value)
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("duration must be positive, got %s", value)
	}
	*d = PositiveDuration(v)
	return nil
}
