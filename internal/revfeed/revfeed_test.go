package revfeed

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Line
		wantErr string
	}{
		{name: "entry", in: `{"cursor":3,"kind":"jti","value":"a","revokedAt":10,"expiresAt":20}`,
			want: Line{Cursor: 3, Kind: KindToken, Value: "a", RevokedAt: 10, ExpiresAt: 20}},
		{name: "sync", in: `{"type":"sync"}`, want: Line{Type: TypeSync}},
		{name: "heartbeat", in: `{"type":"heartbeat"}`, want: Line{Type: TypeHeartbeat}},
		{name: "unknown type", in: `{"type":"reset"}`, wantErr: `unknown type "reset"`},
		{name: "unknown kind", in: `{"cursor":1,"kind":"email","value":"a","expiresAt":2}`, wantErr: `unknown kind "email"`},
		{name: "empty value", in: `{"cursor":1,"kind":"sub","expiresAt":2}`, wantErr: "empty value"},
		{name: "missing cursor", in: `{"kind":"sid","value":"a","expiresAt":2}`, wantErr: "missing cursor"},
		{name: "missing expiry", in: `{"cursor":1,"kind":"sid","value":"a"}`, wantErr: "missing expiresAt"},
		{name: "not JSON", in: `hello`, wantErr: "invalid character"},
		{name: "too long", in: `{"type":"sync","x":"` + strings.Repeat("a", MaxLineBytes) + `"}`, wantErr: "at most 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLine([]byte(tt.in))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidLine) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseLine error = %v, want ErrInvalidLine containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLine: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseLine mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestURLKeepsQuery(t *testing.T) {
	got, err := URL("https://auth.example.com/oauth2/revocations?tenant=a", 42)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://auth.example.com/oauth2/revocations?after=42&tenant=a"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

// FuzzParseLine feeds arbitrary lines to the parser of the revocation feed,
// which ext_authz reads from the network. It must never panic, and every
// line it accepts must be a known type or a complete entry.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"cursor":3,"kind":"jti","value":"a","revokedAt":10,"expiresAt":20}`))
	f.Add([]byte(`{"type":"sync"}`))
	f.Add([]byte(`{"cursor":18446744073709551615,"kind":"sub","value":"\u0000","expiresAt":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLine(data)
		if err != nil {
			return
		}
		if l.Type == "" && (l.Value == "" || l.Cursor == 0 || l.ExpiresAt <= 0) {
			t.Fatalf("ParseLine accepted an incomplete entry: %+v", l)
		}
	})
}
