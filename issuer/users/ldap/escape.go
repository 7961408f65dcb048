package ldap

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// escapeDNValue escapes s for use as an attribute value in a DN string, as
// RFC 4514 §2.4 requires. Besides the characters that the RFC names, it
// escapes every ASCII control character as \XX, so that the result is
// printable and can never end a DN early.
func escapeDNValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			writeHexEscape(&b, c)
		case strings.IndexByte(`"+,;<>\=`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case (c == ' ' || c == '#') && i == 0, c == ' ' && i == len(s)-1:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapeFilterValue escapes s for use as an assertion value in a search
// filter, as RFC 4515 §3 requires: '*', '(', ')', '\' and NUL become \XX.
// It also escapes every other ASCII control character.
func escapeFilterValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(`*()\`, c) >= 0 {
			writeHexEscape(&b, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func writeHexEscape(b *strings.Builder, c byte) {
	b.WriteByte('\\')
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0x0f])
}

// checkUsername rejects a username that cannot name a directory account:
// empty, longer than maxUsernameBytes, not UTF-8 or with a control
// character. Such input never reaches the directory.
func checkUsername(username string) error {
	if username == "" {
		return fmt.Errorf("username: empty")
	}
	if len(username) > maxUsernameBytes {
		return fmt.Errorf("username: longer than %d bytes", maxUsernameBytes)
	}
	if !utf8.ValidString(username) {
		return fmt.Errorf("username: not valid UTF-8")
	}
	if strings.ContainsFunc(username, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("username: contains a control character")
	}
	return nil
}

// fillTemplate replaces the single "%s" in template with value. Config
// validation ensures the template has exactly one.
func fillTemplate(template, value string) string {
	return strings.Replace(template, "%s", value, 1)
}
