package keyset

// Names of the Kubernetes Secret that carries a key set. They live here,
// next to the format, so that the controller, which writes the Secret, and
// the issuer, which reads it, use the same names without importing each
// other.
const (
	// DefaultSecretName is the name of the key-set Secret unless a flag
	// sets another one.
	DefaultSecretName = "gatehouse-signing-keys"
	// SecretDataKey is the data key of the Secret that holds the keys.json
	// document.
	SecretDataKey = "keys.json"
	// LabelRegistration is the label by which the issuer selects the Secrets
	// that the controller writes for it.
	LabelRegistration = "gatehouse.dev/registration"
	// LabelValue is the LabelRegistration value of the key-set Secret.
	LabelValue = "signing-keys"
)
