package cli

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
)

// LogOptions are the logging flags every subcommand has.
type LogOptions struct {
	Format string
	Level  slog.Level
}

// AddFlags registers --log-format and --log-level on fs.
func (o *LogOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Format, "log-format", "json", `log output format: "json" or "text"`)
	fs.TextVar(&o.Level, "log-level", slog.LevelInfo, `minimum log level: "debug", "info", "warn" or "error"`)
}

// NewLogger returns the logger the options describe, writing to w.
func (o *LogOptions) NewLogger(w io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: o.Level}
	switch o.Format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: use \"json\" or \"text\"", o.Format)
}
