package users

import (
	"errors"
	"fmt"
	"strings"
)

// maxNameLength bounds usernames and subjects, which appear in tokens.
const maxNameLength = 255

// ErrInvalid reports a user definition that breaks the rules of the package
// documentation.
var ErrInvalid = errors.New("invalid user")

// User is one account that may use the password grant.
type User struct {
	// Username is the name the user logs in with.
	Username string
	// Subject is the stable "sub" claim. Empty means the username.
	Subject string
	// PasswordHash is an argon2id PHC string or a bcrypt hash. Stores clear
	// it in the users they return.
	PasswordHash string
	// Email is copied into the "email" claim when set.
	Email string
	// Groups are copied into the "groups" claim.
	Groups []string
}

// Validate checks the user against the rules of the package documentation.
// The error wraps ErrInvalid and names the user and field.
func (u *User) Validate() error {
	if err := u.validate(); err != nil {
		if u.Username == "" {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return fmt.Errorf("%w %q: %w", ErrInvalid, u.Username, err)
	}
	return nil
}

func (u *User) validate() error {
	if err := validateName("username", u.Username); err != nil {
		return err
	}
	if u.Subject != "" {
		if err := validateName("subject", u.Subject); err != nil {
			return err
		}
	}
	if u.PasswordHash == "" {
		return errors.New("passwordHash: missing")
	}
	if err := checkHash(u.PasswordHash); err != nil {
		return fmt.Errorf("passwordHash: %w", err)
	}
	if strings.ContainsFunc(u.Email, isControl) {
		return errors.New("email: contains a control character")
	}
	for i, g := range u.Groups {
		if g == "" || strings.ContainsFunc(g, isControl) {
			return fmt.Errorf("groups[%d]: %q is empty or contains a control character", i, g)
		}
	}
	return nil
}

func validateName(field, name string) error {
	if name == "" {
		return fmt.Errorf("%s: missing", field)
	}
	if len(name) > maxNameLength {
		return fmt.Errorf("%s: longer than %d bytes", field, maxNameLength)
	}
	if strings.ContainsFunc(name, isControl) {
		return fmt.Errorf("%s: contains a control character", field)
	}
	return nil
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f
}
