package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// maxSecretInput bounds what the hash commands read from standard input.
const maxSecretInput = 4096

// minSecretBytes is the shortest client secret hash-secret accepts without a
// warning: 128 bits of a random base64 string. SHA-256 is fast, so a short
// secret can be guessed from its hash.
const minSecretBytes = 22

// terminal is standard input when it is an interactive terminal.
type terminal interface {
	Fd() uintptr
}

// promptSecret reads a secret from stdin. At a terminal it prompts on stderr
// with echo off, and prompts twice when confirm is set. Otherwise it reads one
// line. Secrets come on standard input, not as arguments, so they stay out
// of shell history and the process list.
func promptSecret(stdin io.Reader, stderr io.Writer, what string, confirm bool) (string, error) {
	f, ok := stdin.(terminal)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return readSecret(stdin)
	}
	first, err := readHidden(f, stderr, what+": ")
	if err != nil || !confirm {
		return first, err
	}
	second, err := readHidden(f, stderr, "Repeat the "+strings.ToLower(what)+": ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the two entries differ")
	}
	return first, nil
}

func readHidden(f terminal, stderr io.Writer, prompt string) (string, error) {
	fmt.Fprint(stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read from the terminal: %w", err)
	}
	if len(b) == 0 {
		return "", errors.New("empty input")
	}
	return string(b), nil
}

// readSecret reads one line from r, without its line ending.
func readSecret(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxSecretInput), maxSecretInput).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("standard input is empty: pipe the value in, for example: printf %s \"$VALUE\" | gatehouse hash-password")
	}
	return line, nil
}

func runHashPassword(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("hash-password", "Reads a password on standard input and prints its argon2id hash for the passwordHash field of a users file.", stderr)
	if err := cli.Parse(fs, args, nil); err != nil {
		return err
	}
	password, err := promptSecret(stdin, stderr, "Password", true)
	if err != nil {
		return err
	}
	hash, err := users.HashPassword(password)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, hash)
	return err
}

func runHashSecret(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("hash-secret", "Reads a client secret on standard input and prints its hash for the secretHashes field of a clients file.", stderr)
	if err := cli.Parse(fs, args, nil); err != nil {
		return err
	}
	secret, err := promptSecret(stdin, stderr, "Client secret", false)
	if err != nil {
		return err
	}
	if len(secret) < minSecretBytes {
		fmt.Fprintf(stderr, "warning: the secret is %d bytes; use a random one of at least %d, such as the output of openssl rand -base64 32\n", len(secret), minSecretBytes)
	}
	_, err = fmt.Fprintln(stdout, clients.HashSecret(secret))
	return err
}
