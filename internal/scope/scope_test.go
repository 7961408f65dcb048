package scope

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "one token", in: "openid", want: []string{"openid"}},
		{name: "several tokens", in: "openid orders:read", want: []string{"openid", "orders:read"}},
		{name: "duplicates dropped", in: "a b a", want: []string{"a", "b"}},
		{name: "double space", in: "a  b", wantErr: true},
		{name: "leading space", in: " a", wantErr: true},
		{name: "quote", in: `a"b`, wantErr: true},
		{name: "backslash", in: `a\b`, wantErr: true},
		{name: "tab", in: "a\tb", wantErr: true},
		{name: "non-ASCII", in: "ordérs", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalid", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	got := Missing([]string{"a", "b", "c"}, []string{"b"})
	if diff := cmp.Diff([]string{"a", "c"}, got); diff != "" {
		t.Errorf("Missing mismatch (-want +got):\n%s", diff)
	}
	if !Subset([]string{"b"}, []string{"a", "b"}) {
		t.Error("Subset([b], [a b]) = false, want true")
	}
	if Subset([]string{"c"}, []string{"a", "b"}) {
		t.Error("Subset([c], [a b]) = true, want false")
	}
}
