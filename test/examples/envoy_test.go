package examples

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantRoutes are the routes both Envoy examples share.
var wantRoutes = []routeSummary{
	{Match: "path=/healthz", Cluster: "app", ExtAuthzDisabled: true},
	{
		Match:            "prefix=/orders :method=POST",
		Cluster:          "app",
		ContextExtension: map[string]string{"gatehouse.scopes": "orders:write"},
	},
	{Match: "prefix=/", Cluster: "app"},
}

func TestEnvoyExamples(t *testing.T) {
	tests := []struct {
		name string
		file string
		want extAuthzSummary
	}{
		{
			name: "grpc",
			file: "grpc.yaml",
			want: extAuthzSummary{
				Cluster:             "gatehouse_extauthz",
				Endpoints:           []string{"127.0.0.1:9001"},
				HTTP2:               true,
				GRPCTimeout:         "500ms",
				TransportAPIVersion: "V3",
				StatusOnError:       "ServiceUnavailable",
				HTTPFilters:         []string{"envoy.filters.http.ext_authz", "envoy.filters.http.router"},
				Routes:              wantRoutes,
			},
		},
		{
			name: "http",
			file: "http.yaml",
			want: extAuthzSummary{
				Cluster:                "gatehouse_extauthz",
				Endpoints:              []string{"127.0.0.1:9002"},
				ServerURI:              "http://127.0.0.1:9002",
				TransportAPIVersion:    "V3",
				StatusOnError:          "ServiceUnavailable",
				AllowedHeaders:         []string{"exact:authorization", "prefix:x-auth-"},
				AllowedUpstreamHeaders: []string{"prefix:x-auth-"},
				AllowedClientHeaders:   []string{"exact:www-authenticate"},
				HTTPFilters:            []string{"envoy.filters.http.ext_authz", "envoy.filters.http.router"},
				Routes:                 wantRoutes,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := readEnvoyExample(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			bootstrap, err := loadBootstrap(data)
			if err != nil {
				t.Fatalf("load %s: %v", tt.file, err)
			}
			got, err := summarizeEnvoy(bootstrap)
			if err != nil {
				t.Fatalf("summarize %s: %v", tt.file, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s ext_authz setup mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

// TestEnvoyBrokenExamples proves that loadBootstrap rejects what Envoy
// would reject, by breaking the real examples one way at a time.
func TestEnvoyBrokenExamples(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		old     string
		new     string
		wantErr error
		wantMsg string
	}{
		{
			name:    "misspelled field",
			file:    "grpc.yaml",
			old:     "failure_mode_allow: false",
			new:     "failure_mode_alow: false",
			wantMsg: "failure_mode_alow",
		},
		{
			name:    "port out of range",
			file:    "grpc.yaml",
			old:     "port_value: 9001}",
			new:     "port_value: 90010}",
			wantMsg: "PortValue",
		},
		{
			name:    "typed_config of unlisted type",
			file:    "grpc.yaml",
			old:     "router.v3.Router",
			new:     "router.v3.Routr",
			wantMsg: "Routr",
		},
		{
			name:    "invalid value inside typed_config",
			file:    "http.yaml",
			old:     "uri: http://127.0.0.1:9002",
			new:     "uri: \"\"",
			wantMsg: "Uri",
		},
		{
			name:    "ext_authz cluster missing",
			file:    "grpc.yaml",
			old:     "cluster_name: gatehouse_extauthz}",
			new:     "cluster_name: gatehouse_ext_authz}",
			wantErr: errUnknownCluster,
		},
		{
			name:    "route cluster missing",
			file:    "http.yaml",
			old:     "- match: {prefix: /}\n                          route: {cluster: app}",
			new:     "- match: {prefix: /}\n                          route: {cluster: ap}",
			wantErr: errUnknownCluster,
		},
		{
			name:    "duplicate key",
			file:    "grpc.yaml",
			old:     "failure_mode_allow: false",
			new:     "failure_mode_allow: false\n                      failure_mode_allow: true",
			wantMsg: "failure_mode_allow",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := readEnvoyExample(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			broken := strings.Replace(string(data), tt.old, tt.new, 1)
			if broken == string(data) {
				t.Fatalf("%q not found in %s", tt.old, tt.file)
			}
			_, err = loadBootstrap([]byte(broken))
			if err == nil {
				t.Fatalf("load of broken %s: got nil error, want one", tt.file)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

// TestEnvoyFailOpenDetected checks that the summary comparison catches a
// fail-open filter, which loads without error.
func TestEnvoyFailOpenDetected(t *testing.T) {
	data, err := readEnvoyExample("grpc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	open := strings.Replace(string(data), "failure_mode_allow: false", "failure_mode_allow: true", 1)
	bootstrap, err := loadBootstrap([]byte(open))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	got, err := summarizeEnvoy(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	if !got.FailureModeAllow {
		t.Errorf("got FailureModeAllow false after setting it to true, want true")
	}
}
