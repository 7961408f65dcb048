package issuer

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// validDescription reports whether s uses only the characters that RFC 6749
// §5.2 allows in error_description.
func validDescription(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// FuzzParseTokenForm feeds arbitrary Content-Type headers and bodies to the
// token request parser. Seeds are in testdata/fuzz/FuzzParseTokenForm.
func FuzzParseTokenForm(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/oauth2/token", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		form, terr := parseTokenForm(r)
		if terr != nil {
			if terr.code != codeInvalidRequest || terr.status != http.StatusBadRequest {
				t.Fatalf("got error %s with status %d, want invalid_request 400", terr.code, terr.status)
			}
			if !validDescription(terr.description) {
				t.Fatalf("error_description %q has characters RFC 6749 forbids", terr.description)
			}
			return
		}
		values, err := url.ParseQuery(body)
		if err != nil {
			t.Fatalf("parser accepted a body that url.ParseQuery rejects: %v", err)
		}
		for name, value := range form {
			if value == "" {
				t.Fatalf("parameter %q kept with an empty value", name)
			}
			if got := values[name]; len(got) != 1 || got[0] != value {
				t.Fatalf("parameter %q = %q, want the single body value %q", name, value, got)
			}
		}
	})
}

// FuzzParseBasic feeds arbitrary Authorization header values to the
// client_secret_basic parser. Seeds are in testdata/fuzz/FuzzParseBasic.
func FuzzParseBasic(f *testing.F) {
	f.Fuzz(func(t *testing.T, header string) {
		id, secret, err := parseBasic(header)
		if err != nil {
			return
		}
		if id == "" {
			t.Fatal("accepted credentials with an empty client ID")
		}
		// Encoding the result as a client would must give it back.
		encoded := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
		id2, secret2, err := parseBasic(encoded)
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("round trip of (%q, %q) gave (%q, %q, %v)", id, secret, id2, secret2, err)
		}
	})
}

func TestParseBasic(t *testing.T) {
	tests := []struct {
		name       string
		header     string
		wantID     string
		wantSecret string
		wantErr    bool
	}{
		{name: "form-encoded special characters", header: basic(specialID, specialSecret), wantID: specialID, wantSecret: specialSecret},
		{name: "plus decodes to space", header: "Basic " + b64("a+b:c+d"), wantID: "a b", wantSecret: "c d"},
		{name: "split at first colon", header: "Basic " + b64("id:se:cret"), wantID: "id", wantSecret: "se:cret"},
		{name: "lowercase scheme", header: "basic " + b64("id:secret"), wantID: "id", wantSecret: "secret"},
		{name: "empty secret", header: "Basic " + b64("id:"), wantID: "id", wantSecret: ""},
		{name: "no colon", header: "Basic " + b64("idsecret"), wantErr: true},
		{name: "empty ID", header: "Basic " + b64(":secret"), wantErr: true},
		{name: "bad percent encoding", header: "Basic " + b64("id:%zz"), wantErr: true},
		{name: "unpadded base64", header: "Basic " + strings.TrimRight(b64("id:secret1"), "="), wantErr: true},
		{name: "Bearer scheme", header: "Bearer " + b64("id:secret"), wantErr: true},
		{name: "no credentials", header: "Basic", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, secret, err := parseBasic(tt.header)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if id != tt.wantID || secret != tt.wantSecret {
				t.Errorf("got (%q, %q), want (%q, %q)", id, secret, tt.wantID, tt.wantSecret)
			}
		})
	}
}
