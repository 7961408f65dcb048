package clients

import (
	"encoding/json"
	"fmt"
	"time"
)

// duration decodes a Go duration string such as "10m" from YAML.
type duration time.Duration

// UnmarshalJSON implements json.Unmarshaler. sigs.k8s.io/yaml converts YAML
// to JSON first, so this also decodes the YAML value.
func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"10m\": %w", err)
	}
	parsed, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(parsed)
	return nil
}
