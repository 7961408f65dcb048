package examples

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"
)

// errUnknownCluster reports a route or filter that names a cluster the
// bootstrap does not define. Envoy rejects such a static bootstrap at start.
var errUnknownCluster = errors.New("unknown cluster")

// envoyTypes lists the extension types the examples may name in
// typed_config. Resolving Any values through this list, and not through the
// global registry, makes an example that names any other type fail to load.
func envoyTypes() (*protoregistry.Types, error) {
	types := new(protoregistry.Types)
	messages := []proto.Message{
		&hcmv3.HttpConnectionManager{},
		&extauthzv3.ExtAuthz{},
		&extauthzv3.ExtAuthzPerRoute{},
		&routerv3.Router{},
		&upstreamhttpv3.HttpProtocolOptions{},
	}
	for _, m := range messages {
		if err := types.RegisterMessage(m.ProtoReflect().Type()); err != nil {
			return nil, fmt.Errorf("register %T: %w", m, err)
		}
	}
	return types, nil
}

// readEnvoyExample reads config/envoy/NAME from the repository.
func readEnvoyExample(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "..", "config", "envoy", name))
}

// loadBootstrap parses an Envoy bootstrap in YAML the way Envoy does:
// unknown fields and duplicate keys are errors, every typed_config is
// decoded into its type, and every message, those inside typed_config
// included, must pass the proto's validation rules. It also checks that
// each cluster named by a route or by ext_authz is defined.
func loadBootstrap(data []byte) (*bootstrapv3.Bootstrap, error) {
	types, err := envoyTypes()
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var bootstrap bootstrapv3.Bootstrap
	if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal(js, &bootstrap); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := validateTree(&bootstrap, types); err != nil {
		return nil, err
	}
	if err := checkClusterRefs(&bootstrap); err != nil {
		return nil, err
	}
	return &bootstrap, nil
}

// validateTree runs the generated ValidateAll of m, then of every message
// packed in an Any below it. ValidateAll does not look inside Any values.
func validateTree(m proto.Message, types *protoregistry.Types) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("validate %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
	}
	return validateFields(m.ProtoReflect(), types)
}

func validateFields(msg protoreflect.Message, types *protoregistry.Types) error {
	var err error
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		err = validateField(fd, v, types)
		return err == nil
	})
	return err
}

func validateField(fd protoreflect.FieldDescriptor, v protoreflect.Value, types *protoregistry.Types) error {
	switch {
	case fd.IsList() && fd.Message() != nil:
		list := v.List()
		for i := range list.Len() {
			if err := validateNested(list.Get(i).Message(), types); err != nil {
				return err
			}
		}
	case fd.IsMap() && fd.MapValue().Message() != nil:
		var err error
		v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
			err = validateNested(mv.Message(), types)
			return err == nil
		})
		return err
	case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
		return validateNested(v.Message(), types)
	}
	return nil
}

// validateNested unpacks an Any and validates its content, or descends into
// any other message looking for Any values.
func validateNested(msg protoreflect.Message, types *protoregistry.Types) error {
	packed, ok := msg.Interface().(*anypb.Any)
	if !ok {
		return validateFields(msg, types)
	}
	inner, err := anypb.UnmarshalNew(packed, proto.UnmarshalOptions{Resolver: types})
	if err != nil {
		return fmt.Errorf("unpack %s: %w", packed.GetTypeUrl(), err)
	}
	return validateTree(inner, types)
}
