package chart

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
)

// schemaNode is the part of a JSON schema that the documentation test reads.
type schemaNode struct {
	Properties map[string]*schemaNode `json:"properties"`
}

// TestValuesDocumented checks values.yaml against values.schema.json. Every
// setting, that is a key that the schema does not split into further
// properties, must have a comment above it that states its default. Every
// property of the schema must appear in values.yaml, so that no setting
// goes undocumented.
func TestValuesDocumented(t *testing.T) {
	data, err := os.ReadFile(chartDir + "/values.schema.json")
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	var schema schemaNode
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("parse schema: %v", err)
	}
	data, err = os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatalf("read values: %v", err)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse values: %v", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yamlv3.MappingNode {
		t.Fatal("values.yaml is not a mapping")
	}
	// Helm adds "global" for subcharts; the chart has none.
	delete(schema.Properties, "global")
	checkDocumented(t, doc.Content[0], &schema, "")
}

// checkDocumented compares one mapping of values.yaml with the schema
// object that describes it.
func checkDocumented(t *testing.T, mapping *yamlv3.Node, schema *schemaNode, path string) {
	t.Helper()
	var keys []string
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		key, value := mapping.Content[i], mapping.Content[i+1]
		keyPath := strings.TrimPrefix(path+"."+key.Value, ".")
		keys = append(keys, key.Value)

		sub, ok := schema.Properties[key.Value]
		if !ok {
			t.Errorf("values.yaml key %s is not in values.schema.json", keyPath)
			continue
		}
		if len(sub.Properties) > 0 && value.Kind == yamlv3.MappingNode {
			checkDocumented(t, value, sub, keyPath)
			continue
		}
		if !strings.Contains(key.HeadComment, "Default") {
			t.Errorf("values.yaml key %s has no comment above it that states its default", keyPath)
		}
	}
	for name := range schema.Properties {
		if !slices.Contains(keys, name) {
			t.Errorf("values.schema.json property %s is missing from values.yaml", strings.TrimPrefix(path+"."+name, "."))
		}
	}
}
