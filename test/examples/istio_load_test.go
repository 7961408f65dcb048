package examples

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1beta1 "istio.io/api/networking/v1beta1"
	securityv1beta1 "istio.io/api/security/v1beta1"
	"sigs.k8s.io/yaml"
)

var (
	// errUnknownProvider reports a CUSTOM policy whose provider is not an
	// extension provider of the mesh config.
	errUnknownProvider = errors.New("unknown extension provider")
	// errNoServiceEntry reports a provider service that neither names a
	// Kubernetes Service nor matches a ServiceEntry host and port.
	errNoServiceEntry = errors.New("service entry not found")
)

// istioObject is one Kubernetes object of an Istio example, with its spec
// still in JSON.
type istioObject struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   objectMeta      `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
}

// objectMeta is the part of Kubernetes object metadata the examples set.
type objectMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// istioExamples contains every object of config/istio, decoded into
// Istio's types.
type istioExamples struct {
	Mesh     *meshv1alpha1.MeshConfig
	Policies map[string]*securityv1beta1.AuthorizationPolicy
	Entries  map[string]*networkingv1beta1.ServiceEntry
}

// readIstioExamples reads the three files of config/istio, keyed by name.
func readIstioExamples() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, name := range []string{"mesh-config.yaml", "authorization-policy.yaml", "service-entry.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "istio", name))
		if err != nil {
			return nil, err
		}
		files[name] = data
	}
	return files, nil
}

// splitObjects decodes a YAML stream of Kubernetes objects strictly, so
// unknown top-level fields and duplicate keys are errors.
func splitObjects(data []byte) ([]istioObject, error) {
	var objects []istioObject
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		var obj istioObject
		if err := yaml.UnmarshalStrict([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("yaml: %w", err)
		}
		objects = append(objects, obj)
	}
	return objects, nil
}

// decodeSpec decodes spec JSON into an Istio proto. Unknown fields and
// unknown enum names are errors.
func decodeSpec(obj istioObject, spec proto.Message) error {
	if err := protojson.Unmarshal(obj.Spec, spec); err != nil {
		return fmt.Errorf("%s %s spec: %w", obj.Kind, obj.Metadata.Name, err)
	}
	return nil
}

// loadIstioExamples decodes the three Istio files and checks that the
// policies and ServiceEntries fit the mesh config.
func loadIstioExamples(files map[string][]byte) (*istioExamples, error) {
	examples := &istioExamples{
		Policies: map[string]*securityv1beta1.AuthorizationPolicy{},
		Entries:  map[string]*networkingv1beta1.ServiceEntry{},
	}
	var err error
	examples.Mesh, err = decodeMeshConfig(files["mesh-config.yaml"])
	if err != nil {
		return nil, err
	}
	if err := decodeObjects(files["authorization-policy.yaml"], "security.istio.io/v1", "AuthorizationPolicy", newAuthorizationPolicy, examples.Policies); err != nil {
		return nil, err
	}
	if err := decodeObjects(files["service-entry.yaml"], "networking.istio.io/v1", "ServiceEntry", newServiceEntry, examples.Entries); err != nil {
		return nil, err
	}
	return examples, checkIstioReferences(examples)
}

// decodeMeshConfig decodes an IstioOperator whose spec contains only
// meshConfig.
func decodeMeshConfig(data []byte) (*meshv1alpha1.MeshConfig, error) {
	objects, err := splitObjects(data)
	if err != nil {
		return nil, err
	}
	if len(objects) != 1 || objects[0].Kind != "IstioOperator" {
		return nil, fmt.Errorf("mesh config: got %d objects, want one IstioOperator", len(objects))
	}
	var spec struct {
		MeshConfig json.RawMessage `json:"meshConfig"`
	}
	if err := yaml.UnmarshalStrict(objects[0].Spec, &spec); err != nil {
		return nil, fmt.Errorf("IstioOperator spec: %w", err)
	}
	mesh := new(meshv1alpha1.MeshConfig)
	if err := protojson.Unmarshal(spec.MeshConfig, mesh); err != nil {
		return nil, fmt.Errorf("meshConfig: %w", err)
	}
	return mesh, nil
}

// decodeObjects decodes every object of data, which must all have the
// given apiVersion and kind, into out keyed by "namespace/name".
func decodeObjects[T proto.Message](data []byte, apiVersion, kind string, newSpec func() T, out map[string]T) error {
	objects, err := splitObjects(data)
	if err != nil {
		return err
	}
	for _, obj := range objects {
		if obj.APIVersion != apiVersion || obj.Kind != kind {
			return fmt.Errorf("got %s %s, want %s %s", obj.APIVersion, obj.Kind, apiVersion, kind)
		}
		spec := newSpec()
		if err := decodeSpec(obj, spec); err != nil {
			return err
		}
		out[obj.Metadata.Namespace+"/"+obj.Metadata.Name] = spec
	}
	return nil
}

// checkIstioReferences checks that each CUSTOM policy names a provider of
// the mesh config, and that a provider outside the cluster DNS zone names
// a ServiceEntry host with the provider's port.
func checkIstioReferences(examples *istioExamples) error {
	providers := map[string]*meshv1alpha1.MeshConfig_ExtensionProvider{}
	for _, p := range examples.Mesh.GetExtensionProviders() {
		providers[p.GetName()] = p
	}
	for key, policy := range examples.Policies {
		name := policy.GetProvider().GetName()
		if _, ok := providers[name]; !ok {
			return fmt.Errorf("policy %s provider %q: %w", key, name, errUnknownProvider)
		}
	}
	for _, p := range providers {
		grpc := p.GetEnvoyExtAuthzGrpc()
		if strings.HasSuffix(grpc.GetService(), ".svc.cluster.local") {
			continue
		}
		if !hasServiceEntry(examples.Entries, grpc.GetService(), grpc.GetPort()) {
			return fmt.Errorf("provider %s service %s:%d: %w", p.GetName(), grpc.GetService(), grpc.GetPort(), errNoServiceEntry)
		}
	}
	return nil
}

func newAuthorizationPolicy() *securityv1beta1.AuthorizationPolicy {
	return new(securityv1beta1.AuthorizationPolicy)
}

func newServiceEntry() *networkingv1beta1.ServiceEntry { return new(networkingv1beta1.ServiceEntry) }

func hasServiceEntry(entries map[string]*networkingv1beta1.ServiceEntry, host string, port uint32) bool {
	for _, entry := range entries {
		if !slices.Contains(entry.GetHosts(), host) {
			continue
		}
		for _, p := range entry.GetPorts() {
			if p.GetNumber() == port {
				return true
			}
		}
	}
	return false
}
