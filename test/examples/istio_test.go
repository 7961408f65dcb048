package examples

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// providerSummary contains the mesh config settings of one ext_authz provider.
type providerSummary struct {
	Service       string
	Port          uint32
	Timeout       string
	FailOpen      bool
	StatusOnError string
}

// policySummary contains the settings of one AuthorizationPolicy.
type policySummary struct {
	Action   string
	Provider string
	Selector map[string]string
	NotPaths []string
}

// entrySummary contains the settings of one ServiceEntry.
type entrySummary struct {
	Hosts      []string
	ExportTo   []string
	Location   string
	Resolution string
	Ports      []string
	Endpoints  []string
}

func summarizeProviders(examples *istioExamples) map[string]providerSummary {
	out := map[string]providerSummary{}
	for _, p := range examples.Mesh.GetExtensionProviders() {
		grpc := p.GetEnvoyExtAuthzGrpc()
		out[p.GetName()] = providerSummary{
			Service:       grpc.GetService(),
			Port:          grpc.GetPort(),
			Timeout:       grpc.GetTimeout().AsDuration().String(),
			FailOpen:      grpc.GetFailOpen(),
			StatusOnError: grpc.GetStatusOnError(),
		}
	}
	return out
}

func summarizePolicies(examples *istioExamples) map[string]policySummary {
	out := map[string]policySummary{}
	for key, policy := range examples.Policies {
		summary := policySummary{
			Action:   policy.GetAction().String(),
			Provider: policy.GetProvider().GetName(),
			Selector: policy.GetSelector().GetMatchLabels(),
		}
		for _, rule := range policy.GetRules() {
			for _, to := range rule.GetTo() {
				summary.NotPaths = append(summary.NotPaths, to.GetOperation().GetNotPaths()...)
			}
		}
		out[key] = summary
	}
	return out
}

func summarizeEntries(examples *istioExamples) map[string]entrySummary {
	out := map[string]entrySummary{}
	for key, entry := range examples.Entries {
		summary := entrySummary{
			Hosts:      entry.GetHosts(),
			ExportTo:   entry.GetExportTo(),
			Location:   entry.GetLocation().String(),
			Resolution: entry.GetResolution().String(),
		}
		for _, p := range entry.GetPorts() {
			summary.Ports = append(summary.Ports, fmt.Sprintf("%s/%s/%d", p.GetName(), p.GetProtocol(), p.GetNumber()))
		}
		for _, e := range entry.GetEndpoints() {
			summary.Endpoints = append(summary.Endpoints, e.GetAddress())
		}
		out[key] = summary
	}
	return out
}

func TestIstioExamples(t *testing.T) {
	files, err := readIstioExamples()
	if err != nil {
		t.Fatal(err)
	}
	examples, err := loadIstioExamples(files)
	if err != nil {
		t.Fatalf("load: %v", err)
	}

	wantProviders := map[string]providerSummary{
		"gatehouse": {
			Service: "gatehouse-extauthz.gatehouse.svc.cluster.local", Port: 9001,
			Timeout: "500ms", StatusOnError: "503",
		},
		"gatehouse-sidecar": {
			Service: "gatehouse-extauthz.local", Port: 9001,
			Timeout: "500ms", StatusOnError: "503",
		},
	}
	if diff := cmp.Diff(wantProviders, summarizeProviders(examples)); diff != "" {
		t.Errorf("mesh config providers mismatch (-want +got):\n%s", diff)
	}

	wantPolicies := map[string]policySummary{
		"orders/orders-gatehouse": {
			Action: "CUSTOM", Provider: "gatehouse",
			Selector: map[string]string{"app": "orders"}, NotPaths: []string{"/healthz"},
		},
		"payments/payments-gatehouse": {
			Action: "CUSTOM", Provider: "gatehouse-sidecar",
			Selector: map[string]string{"app": "payments"}, NotPaths: []string{"/healthz"},
		},
	}
	if diff := cmp.Diff(wantPolicies, summarizePolicies(examples)); diff != "" {
		t.Errorf("authorization policies mismatch (-want +got):\n%s", diff)
	}

	wantEntries := map[string]entrySummary{
		"payments/gatehouse-extauthz-local": {
			Hosts: []string{"gatehouse-extauthz.local"}, ExportTo: []string{"."},
			Location: "MESH_INTERNAL", Resolution: "STATIC",
			Ports: []string{"grpc/GRPC/9001"}, Endpoints: []string{"127.0.0.1"},
		},
	}
	if diff := cmp.Diff(wantEntries, summarizeEntries(examples)); diff != "" {
		t.Errorf("service entries mismatch (-want +got):\n%s", diff)
	}
}

// TestIstioBrokenExamples proves that loadIstioExamples rejects each kind
// of mistake, by breaking the real files one way at a time.
func TestIstioBrokenExamples(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		old     string
		new     string
		wantErr error
		wantMsg string
	}{
		{
			name:    "misspelled policy field",
			file:    "authorization-policy.yaml",
			old:     "notPaths:",
			new:     "notPath:",
			wantMsg: "notPath",
		},
		{
			name:    "unknown action",
			file:    "authorization-policy.yaml",
			old:     "action: CUSTOM",
			new:     "action: EXTERNAL",
			wantMsg: "EXTERNAL",
		},
		{
			name:    "misspelled provider field",
			file:    "mesh-config.yaml",
			old:     "failOpen: false",
			new:     "failopen: false",
			wantMsg: "failopen",
		},
		{
			name:    "policy names missing provider",
			file:    "authorization-policy.yaml",
			old:     "name: gatehouse-sidecar",
			new:     "name: gatehouse-local",
			wantErr: errUnknownProvider,
		},
		{
			name:    "service entry port differs",
			file:    "service-entry.yaml",
			old:     "number: 9001",
			new:     "number: 9002",
			wantErr: errNoServiceEntry,
		},
		{
			name:    "unknown resolution",
			file:    "service-entry.yaml",
			old:     "resolution: STATIC",
			new:     "resolution: LOOPBACK",
			wantMsg: "LOOPBACK",
		},
		{
			name:    "unknown metadata field",
			file:    "service-entry.yaml",
			old:     "  namespace: payments",
			new:     "  namespace: payments\n  namspace: payments",
			wantMsg: "namspace",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := readIstioExamples()
			if err != nil {
				t.Fatal(err)
			}
			broken := strings.Replace(string(files[tt.file]), tt.old, tt.new, 1)
			if broken == string(files[tt.file]) {
				t.Fatalf("%q not found in %s", tt.old, tt.file)
			}
			files[tt.file] = []byte(broken)
			_, err = loadIstioExamples(files)
			if err == nil {
				t.Fatalf("load with broken %s: got nil error, want one", tt.file)
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
