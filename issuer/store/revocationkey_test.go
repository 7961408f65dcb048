package store

import (
	"testing"
	"time"
)

func TestParseRevocationKey(t *testing.T) {
	at := time.Unix(1700000000, 0)
	tests := []struct {
		name      string
		key       string
		wantKind  RevocationKind
		wantValue string
	}{
		{name: "jti", key: "AbC_d-9", wantKind: RevokedToken, wantValue: "AbC_d-9"},
		{name: "session", key: SessionRevocationKey("fam-1"), wantKind: RevokedSession, wantValue: "fam-1"},
		{name: "subject with colon", key: SubjectRevocationKey("urn:user:7", at), wantKind: RevokedSubject, wantValue: "urn:user:7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, value := ParseRevocationKey(tt.key)
			if kind != tt.wantKind || value != tt.wantValue {
				t.Errorf("ParseRevocationKey(%q) = %v, %q; want %v, %q", tt.key, kind, value, tt.wantKind, tt.wantValue)
			}
		})
	}
}
