package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// maxSecretInput bounds what the hash commands read from standard input.
const maxSecretInput = 4096

// readSecret reads one line from r, without its line ending. Secrets come on
// standard input, not as arguments, so they stay out of shell history and
// the process list.
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
	password, err := readSecret(stdin)
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
	secret, err := readSecret(stdin)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, clients.HashSecret(secret))
	return err
}
