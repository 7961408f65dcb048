// Package cli holds what every gatehouse subcommand shares: flags with an
// environment fallback, and the slog logger that the flags select.
//
// It uses the standard flag package so that all subcommands read the same
// way. It must not import issuer, extauthz or controller.
package cli
