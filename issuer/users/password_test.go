package users

import (
	"errors"
	"strings"
	"testing"
)

// Reference hashes of "correct horse", made outside Go:
//
//	echo -n 'correct horse' | argon2 somesaltsalt16b -id -t 2 -m 10 -p 1 -l 32 -e
//	htpasswd -nbB -C 4 demo 'correct horse'
//
// with the argon2 reference CLI and Apache htpasswd from Debian.
const (
	referenceArgon2 = "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzYWx0MTZi$qcCU/hIOcppnoyQLHcI9I63vEyrxiiC/OCKgtuQtKmU"
	referenceBcrypt = "$2y$04$LkiQOpr1dSwruooTpIZ5fO5g8iDLGLfmYwHTIWS.zEFTchsu8vNQy"
)

// testParams make argon2id fast enough for tests.
var testParams = argon2Params{memoryKiB: 64, iterations: 1, parallelism: 1, saltBytes: 16, keyBytes: 32}

func TestVerifyPassword(t *testing.T) {
	tests := []struct {
		name     string
		hash     string
		password string
		want     bool
	}{
		{name: "argon2id reference", hash: referenceArgon2, password: "correct horse", want: true},
		{name: "argon2id wrong password", hash: referenceArgon2, password: "correct horsE", want: false},
		{name: "bcrypt 2y reference", hash: referenceBcrypt, password: "correct horse", want: true},
		{name: "bcrypt 2b prefix", hash: "$2b$" + strings.TrimPrefix(referenceBcrypt, "$2y$"), password: "correct horse", want: true},
		{name: "bcrypt 2a prefix", hash: "$2a$" + strings.TrimPrefix(referenceBcrypt, "$2y$"), password: "correct horse", want: true},
		{name: "bcrypt wrong password", hash: referenceBcrypt, password: "correct", want: false},
		{name: "bcrypt password over 72 bytes", hash: referenceBcrypt, password: "correct horse" + strings.Repeat("x", 60), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.hash, tt.password)
			if err != nil {
				t.Fatalf("VerifyPassword: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyPasswordRejectsMalformed(t *testing.T) {
	tests := []struct {
		name string
		hash string
	}{
		{name: "empty", hash: ""},
		{name: "argon2i", hash: strings.Replace(referenceArgon2, "argon2id", "argon2i", 1)},
		{name: "old version", hash: strings.Replace(referenceArgon2, "v=19", "v=16", 1)},
		{name: "params out of order", hash: strings.Replace(referenceArgon2, "m=1024,t=2,p=1", "t=2,m=1024,p=1", 1)},
		{name: "params with sign", hash: strings.Replace(referenceArgon2, "m=1024", "m=+1024", 1)},
		{name: "zero iterations", hash: strings.Replace(referenceArgon2, "t=2", "t=0", 1)},
		{name: "memory too large", hash: strings.Replace(referenceArgon2, "m=1024", "m=2097152", 1)},
		{name: "memory below 8 per lane", hash: strings.Replace(referenceArgon2, "m=1024,t=2,p=1", "m=15,t=2,p=2", 1)},
		{name: "padded salt", hash: strings.Replace(referenceArgon2, "MTZi$", "MTZi=$", 1)},
		{name: "short salt", hash: strings.Replace(referenceArgon2, "c29tZXNhbHRzYWx0MTZi", "c2FsdA", 1)},
		{name: "short key", hash: referenceArgon2[:strings.LastIndex(referenceArgon2, "$")+1] + "AAAA"},
		{name: "extra field", hash: referenceArgon2 + "$x"},
		{name: "bcrypt truncated", hash: referenceBcrypt[:20]},
		{name: "bcrypt cost too high", hash: strings.Replace(referenceBcrypt, "$04$", "$99$", 1)},
		{name: "md5 crypt", hash: "$1$saltsalt$abcdefghijklmnopqrstuv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.hash, "correct horse")
			if !errors.Is(err, ErrUnsupportedHash) {
				t.Errorf("got error %v, want one wrapping ErrUnsupportedHash", err)
			}
			if ok {
				t.Error("got a match for a malformed hash, want none")
			}
		})
	}
}

func TestHashPasswordRoundTrip(t *testing.T) {
	hash, err := HashPassword("s3cret: with spaces")
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if want := "$argon2id$v=19$m=65536,t=2,p=1$"; !strings.HasPrefix(hash, want) {
		t.Errorf("got hash %q, want prefix %q", hash, want)
	}
	ok, err := VerifyPassword(hash, "s3cret: with spaces")
	if err != nil || !ok {
		t.Errorf("VerifyPassword(own hash) = %v, %v; want true, nil", ok, err)
	}
	other, err := HashPassword("s3cret: with spaces")
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if other == hash {
		t.Error("got the same hash twice, want a fresh salt each time")
	}
}

func TestHashLikeMatchesCost(t *testing.T) {
	tests := []struct {
		name       string
		hash       string
		wantPrefix string
	}{
		{name: "argon2id", hash: referenceArgon2, wantPrefix: "$argon2id$v=19$m=1024,t=2,p=1$"},
		{name: "bcrypt", hash: referenceBcrypt, wantPrefix: "$2a$04$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hashLike(tt.hash)
			if err != nil {
				t.Fatalf("hashLike: %v", err)
			}
			if !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("got %q, want prefix %q", got, tt.wantPrefix)
			}
			if err := checkHash(got); err != nil {
				t.Errorf("checkHash(dummy): %v", err)
			}
		})
	}
}
