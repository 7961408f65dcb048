package v1alpha1

// ConditionReady is the condition type that summarizes an OAuthClient: True
// when the credentials Secret and the issuer's registration match the
// current spec, False when the controller cannot make them match.
const ConditionReady = "Ready"

// Reasons of the Ready condition. Each is a CamelCase word, as
// metav1.Condition requires.
const (
	// ReasonProvisioned means the credentials Secret and the registration
	// match the spec (Ready is True).
	ReasonProvisioned = "Provisioned"

	// ReasonRotating means a new client secret has been issued and the
	// previous one still works until the rotation overlap ends (Ready is
	// True).
	ReasonRotating = "Rotating"

	// ReasonInvalidSpec means the spec passed the API server's checks but
	// the controller still cannot act on it, for example because a scope is
	// not offered by the issuer (Ready is False). Retrying does not help
	// until the spec changes.
	ReasonInvalidSpec = "InvalidSpec"

	// ReasonSecretConflict means a Secret with the credentials Secret's name
	// already exists and is not owned by this OAuthClient, so the
	// controller leaves it alone (Ready is False).
	ReasonSecretConflict = "SecretConflict"

	// ReasonProvisioningFailed means a write of the credentials Secret or
	// the registration failed, for a reason that a retry may fix (Ready is
	// False).
	ReasonProvisioningFailed = "ProvisioningFailed"
)
