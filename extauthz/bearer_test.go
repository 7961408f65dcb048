package extauthz

import "testing"

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		count     int
		wantToken string
		want      credentialResult
	}{
		{name: "no header", count: 0, want: credentialNone},
		{name: "bearer", value: "Bearer abc.def-_~+/==", count: 1, wantToken: "abc.def-_~+/==", want: credentialBearer},
		{name: "scheme case", value: "bEaReR abc", count: 1, wantToken: "abc", want: credentialBearer},
		{name: "several spaces", value: "Bearer   abc", count: 1, wantToken: "abc", want: credentialBearer},
		{name: "surrounding whitespace", value: " Bearer abc\t", count: 1, wantToken: "abc", want: credentialBearer},
		{name: "two headers", value: "Bearer abc", count: 2, want: credentialMultiple},
		{name: "comma joined bearers", value: "Bearer abc,Bearer def", count: 1, want: credentialMultiple},
		{name: "comma joined basic then bearer", value: "Basic eA==, bearer def", count: 1, want: credentialMultiple},
		{name: "basic", value: "Basic dXNlcjpwYXNz", count: 1, want: credentialNone},
		{name: "digest with parameters", value: `Digest username="a", realm="b"`, count: 1, want: credentialNone},
		{name: "empty value", value: "", count: 1, want: credentialMalformed},
		{name: "bearer alone", value: "Bearer", count: 1, want: credentialMalformed},
		{name: "bearer and spaces", value: "Bearer   ", count: 1, want: credentialMalformed},
		{name: "space inside token", value: "Bearer abc def", count: 1, want: credentialMalformed},
		{name: "padding only", value: "Bearer ==", count: 1, want: credentialMalformed},
		{name: "padding inside", value: "Bearer a=b", count: 1, want: credentialMalformed},
		{name: "non-ASCII", value: "Bearer abcé", count: 1, want: credentialMalformed},
		{name: "tab separator", value: "Bearer\tabc", count: 1, want: credentialMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, got := parseAuthorization(tt.value, tt.count)
			if got != tt.want || token != tt.wantToken {
				t.Errorf("parseAuthorization(%q, %d) = (%q, %d), want (%q, %d)", tt.value, tt.count, token, got, tt.wantToken, tt.want)
			}
		})
	}
}
