package ldap

import (
	"strings"
	"testing"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestEscapeDNValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "alice", want: "alice"},
		{name: "comma and plus", in: "a,b+c", want: `a\,b\+c`},
		{name: "backslash and quote", in: `a\"b`, want: `a\\\"b`},
		{name: "angle brackets and semicolon", in: "<a;b>", want: `\<a\;b\>`},
		{name: "equals", in: "a=b", want: `a\=b`},
		{name: "leading hash", in: "#a#", want: `\#a#`},
		{name: "leading and trailing space", in: " a b ", want: `\ a b\ `},
		{name: "single space", in: " ", want: `\ `},
		{name: "NUL and newline", in: "a\x00b\n", want: `a\00b\0a`},
		{name: "non-ASCII kept", in: "zoë", want: "zoë"},
		{name: "filter characters kept", in: "a*(b)", want: "a*(b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escapeDNValue(tt.in); got != tt.want {
				t.Errorf("escapeDNValue(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscapeFilterValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "alice", want: "alice"},
		{name: "wildcard", in: "*", want: `\2a`},
		{name: "parentheses", in: "a)(uid=*", want: `a\29\28uid=\2a`},
		{name: "backslash", in: `a\b`, want: `a\5cb`},
		{name: "NUL and tab", in: "a\x00\t", want: `a\00\09`},
		{name: "DN characters kept", in: "a,b+c=d", want: "a,b+c=d"},
		{name: "non-ASCII kept", in: "zoë", want: "zoë"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escapeFilterValue(tt.in); got != tt.want {
				t.Errorf("escapeFilterValue(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckUsername(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "plain", in: "alice"},
		{name: "special characters", in: `we*ird)\,name`},
		{name: "max length", in: strings.Repeat("a", maxUsernameBytes)},
		{name: "empty", in: "", wantErr: true},
		{name: "too long", in: strings.Repeat("a", maxUsernameBytes+1), wantErr: true},
		{name: "invalid UTF-8", in: "a\xffb", wantErr: true},
		{name: "NUL", in: "alice\x00", wantErr: true},
		{name: "DEL", in: "alice\x7f", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkUsername(tt.in)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("checkUsername(%q): got error %v, want error %v", tt.in, err, tt.wantErr)
			}
		})
	}
}

// FuzzEscapeDNValue checks that go-ldap's DN parser reads an escaped value
// back as one attribute value equal to the input, so that no input can add
// an RDN or change the DN's structure.
func FuzzEscapeDNValue(f *testing.F) {
	for _, seed := range []string{"alice", `we*ird)\,name`, " #a ", "a,ou=admins", "a+cn=b", `\`, "\x00", "zoë"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if value == "" || !utf8.ValidString(value) {
			t.Skip()
		}
		dn := "uid=" + escapeDNValue(value) + ",ou=people,dc=example,dc=org"
		parsed, err := goldap.ParseDN(dn)
		if err != nil {
			t.Fatalf("ParseDN(%q): %v", dn, err)
		}
		if got := len(parsed.RDNs); got != 4 {
			t.Fatalf("ParseDN(%q): got %d RDNs, want 4", dn, got)
		}
		first := parsed.RDNs[0].Attributes
		if len(first) != 1 || first[0].Type != "uid" || first[0].Value != value {
			t.Fatalf("ParseDN(%q): got first RDN %+v, want uid=%q", dn, first, value)
		}
	})
}

// FuzzEscapeFilterValue checks that go-ldap's filter compiler reads an
// escaped value back as the one value of an equality match, so that no
// input can add a wildcard or another filter term.
func FuzzEscapeFilterValue(f *testing.F) {
	for _, seed := range []string{"alice", "*", "a)(uid=*", `a\`, "\x00", `we*ird)\,name`, "zoë"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if !utf8.ValidString(value) {
			t.Skip()
		}
		filter := "(uid=" + escapeFilterValue(value) + ")"
		packet, err := goldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("CompileFilter(%q): %v", filter, err)
		}
		if packet.Tag != goldap.FilterEqualityMatch || len(packet.Children) != 2 {
			t.Fatalf("CompileFilter(%q): got tag %d with %d children, want an equality match", filter, packet.Tag, len(packet.Children))
		}
		if got := packet.Children[1].Data.String(); got != value {
			t.Fatalf("CompileFilter(%q): got value %q, want %q", filter, got, value)
		}
	})
}
