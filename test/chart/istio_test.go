package chart

import (
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// meshProvider is the part of config/istio/mesh-config.yaml that names the
// ext_authz Service.
type meshProvider struct {
	Name              string `json:"name"`
	EnvoyExtAuthzGrpc *struct {
		Service string `json:"service"`
		Port    int32  `json:"port"`
	} `json:"envoyExtAuthzGrpc"`
}

// istioProvider returns the service host and port of the "gatehouse"
// provider in config/istio/mesh-config.yaml.
func istioProvider(t *testing.T) (string, int32) {
	t.Helper()
	data, err := os.ReadFile("../../config/istio/mesh-config.yaml")
	if err != nil {
		t.Fatalf("read Istio example: %v", err)
	}
	var doc struct {
		Spec struct {
			MeshConfig struct {
				ExtensionProviders []meshProvider `json:"extensionProviders"`
			} `json:"meshConfig"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse Istio example: %v", err)
	}
	for _, p := range doc.Spec.MeshConfig.ExtensionProviders {
		if p.Name == "gatehouse" && p.EnvoyExtAuthzGrpc != nil {
			return p.EnvoyExtAuthzGrpc.Service, p.EnvoyExtAuthzGrpc.Port
		}
	}
	t.Fatal("config/istio/mesh-config.yaml has no envoyExtAuthzGrpc provider named gatehouse")
	return "", 0
}

// TestIstioExampleMatchesService checks that a release named gatehouse in
// namespace gatehouse creates the Service and gRPC port that the Istio
// examples in config/istio name.
func TestIstioExampleMatchesService(t *testing.T) {
	host, port := istioProvider(t)
	var svc corev1.Service
	convert(t, findObject(t, render(t, valuesCases[0]), "Service", "gatehouse-extauthz"), &svc)

	got := fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace)
	if got != host {
		t.Errorf("rendered Service is %s, Istio example names %s", got, host)
	}
	var grpc *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == "grpc" {
			grpc = &svc.Spec.Ports[i]
		}
	}
	if grpc == nil {
		t.Fatalf("Service %s has no port named grpc: %v", svc.Name, svc.Spec.Ports)
	}
	if grpc.Port != port {
		t.Errorf("Service gRPC port is %d, Istio example names %d", grpc.Port, port)
	}
	if grpc.AppProtocol == nil || *grpc.AppProtocol != "grpc" {
		t.Errorf("Service gRPC port appProtocol is %v, want grpc", grpc.AppProtocol)
	}
}

// TestNotes checks that the install notes print the Istio provider entry
// for the rendered Service, a CUSTOM AuthorizationPolicy, and the steps to
// a first token.
func TestNotes(t *testing.T) {
	host, port := istioProvider(t)
	out := runHelm(t, "install", releaseName, chartDir, "--namespace", releaseNamespace, "--dry-run=client")
	_, notes, found := strings.Cut(out, "NOTES:")
	if !found {
		t.Fatalf("helm install --dry-run printed no NOTES:\n%s", out)
	}
	wants := []string{
		"envoyExtAuthzGrpc:",
		"service: " + host,
		fmt.Sprintf("port: %d", port),
		"action: CUSTOM",
		"name: gatehouse",
		"kind: OAuthClient",
		"kubectl -n gatehouse port-forward svc/gatehouse-issuer 8080:80",
		"grant_type=client_credentials",
		"http://127.0.0.1:8080/oauth2/token",
	}
	for _, want := range wants {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES do not contain %q:\n%s", want, notes)
		}
	}
}
