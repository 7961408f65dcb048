package controller

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// Labels and annotations of a registration Secret.
const (
	// LabelRegistration marks a registration Secret; its value is
	// RegistrationKindClient.
	LabelRegistration = "gatehouse.dev/registration"
	// RegistrationKindClient is the LabelRegistration value of a client's
	// registration Secret.
	RegistrationKindClient = "client"
	// LabelClientNamespace is the namespace of the OAuthClient.
	LabelClientNamespace = "gatehouse.dev/client-namespace"
	// LabelClientName is the name of the OAuthClient. It is left out when
	// the name is longer than the 63 characters a label value may have.
	LabelClientName = "gatehouse.dev/client-name"
	// AnnotationClientNamespace is the namespace of the OAuthClient, which
	// the controller reads to map the Secret back to its resource.
	AnnotationClientNamespace = "gatehouse.dev/client-namespace"
	// AnnotationClientName is the full name of the OAuthClient.
	AnnotationClientName = "gatehouse.dev/client-name"
)

// RegistrationKey is the data key of a registration Secret. Its value is a
// client file in the format of issuer/clients (docs/issuer-files.md) with
// exactly one client, so the issuer reads it with the same parser as a
// clients.yaml file.
const RegistrationKey = "clients.yaml"

// registrationFile is the YAML form of a client file.
type registrationFile struct {
	Clients []registrationClient `json:"clients"`
}

// registrationClient is one entry of a client file. Its field names are the
// ones that issuer/clients reads, and durations are Go duration strings.
type registrationClient struct {
	ClientID            string              `json:"clientID"`
	SecretHashes        []string            `json:"secretHashes,omitempty"`
	Public              bool                `json:"public,omitempty"`
	GrantTypes          []clients.GrantType `json:"grantTypes"`
	Scopes              []string            `json:"scopes,omitempty"`
	Audiences           []string            `json:"audiences"`
	AccessTokenTTL      string              `json:"accessTokenTTL,omitempty"`
	RefreshTokenTTL     string              `json:"refreshTokenTTL,omitempty"`
	RefreshTokenIdleTTL string              `json:"refreshTokenIdleTTL,omitempty"`
}

// clientModel returns the issuer's view of oc without secret hashes.
func clientModel(oc *v1alpha1.OAuthClient) clients.Client {
	c := clients.Client{
		ID:              ClientID(oc.Namespace, oc.Name),
		Public:          oc.Spec.Public,
		AccessTokenTTL:  durationOf(oc.Spec.AccessTokenTTL),
		RefreshTokenTTL: durationOf(oc.Spec.RefreshTokenTTL),
		RefreshIdleTTL:  durationOf(oc.Spec.RefreshTokenIdleTTL),
	}
	for _, g := range oc.Spec.GrantTypes {
		c.GrantTypes = append(c.GrantTypes, clients.GrantType(g))
	}
	for _, s := range oc.Spec.Scopes {
		c.Scopes = append(c.Scopes, string(s))
	}
	for _, a := range oc.Spec.Audiences {
		c.Audiences = append(c.Audiences, string(a))
	}
	return c
}

func durationOf(d *metav1.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.Duration
}

// errInvalidUTF8 reports a string field that YAML cannot carry unchanged.
var errInvalidUTF8 = errors.New("not valid UTF-8")

// encodeRegistration returns the client file that holds c alone. It rejects
// a string field that is not valid UTF-8, because YAML would replace its
// invalid bytes. Strings from the API server are valid UTF-8.
func encodeRegistration(c clients.Client) ([]byte, error) {
	texts := append([]string{c.ID}, c.Scopes...)
	for _, text := range append(texts, c.Audiences...) {
		if !utf8.ValidString(text) {
			return nil, fmt.Errorf("encode registration: %q: %w", text, errInvalidUTF8)
		}
	}
	entry := registrationClient{
		ClientID:            c.ID,
		SecretHashes:        c.SecretHashes,
		Public:              c.Public,
		GrantTypes:          c.GrantTypes,
		Scopes:              c.Scopes,
		Audiences:           c.Audiences,
		AccessTokenTTL:      durationString(c.AccessTokenTTL),
		RefreshTokenTTL:     durationString(c.RefreshTokenTTL),
		RefreshTokenIdleTTL: durationString(c.RefreshIdleTTL),
	}
	data, err := yaml.Marshal(registrationFile{Clients: []registrationClient{entry}})
	if err != nil {
		return nil, fmt.Errorf("encode registration: %w", err)
	}
	return data, nil
}

// durationString returns d as a Go duration, or "" for 0, which the issuer
// reads as "use the default".
func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// registrationLabels returns the labels of the registration Secret of oc.
func registrationLabels(oc *v1alpha1.OAuthClient) map[string]string {
	labels := map[string]string{
		LabelRegistration:    RegistrationKindClient,
		LabelClientNamespace: oc.Namespace,
	}
	if len(validation.IsValidLabelValue(oc.Name)) == 0 {
		labels[LabelClientName] = oc.Name
	}
	return labels
}

func registrationAnnotations(oc *v1alpha1.OAuthClient) map[string]string {
	return map[string]string{
		AnnotationClientNamespace: oc.Namespace,
		AnnotationClientName:      oc.Name,
	}
}

// currentRegistration returns the registration Secret of oc read through
// reader, or nil when it does not exist.
func (r *OAuthClientReconciler) currentRegistration(ctx context.Context, oc *v1alpha1.OAuthClient, reader client.Reader) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: r.Namespace, Name: RegistrationSecretName(oc.Namespace, oc.Name)}
	current := &corev1.Secret{}
	err := reader.Get(ctx, key, current)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, provisioningFailed("read the registration Secret", err)
	}
	return current, nil
}

// registrationAnnotationsFor returns the annotations of the registration
// Secret of oc, including the retiring secret hash of state.
func registrationAnnotationsFor(oc *v1alpha1.OAuthClient, state rotationState) map[string]string {
	annotations := registrationAnnotations(oc)
	if state.retiring != nil {
		annotations[AnnotationRetiringHash] = state.retiring.hash
		annotations[AnnotationRetireAt] = state.retiring.at.UTC().Format(time.RFC3339)
	}
	return annotations
}

// applyRegistration writes the registration Secret of oc with server-side
// apply, unless current already holds the wanted labels, annotations and
// data. Leaving the retiring annotations out of the apply removes them,
// because the controller's field manager owns them.
func (r *OAuthClientReconciler) applyRegistration(ctx context.Context, oc *v1alpha1.OAuthClient, model clients.Client, current *corev1.Secret, state rotationState) error {
	data, err := encodeRegistration(model)
	if err != nil {
		return provisioningFailed("encode the registration", err)
	}
	name := RegistrationSecretName(oc.Namespace, oc.Name)
	labels, annotations := registrationLabels(oc), registrationAnnotationsFor(oc, state)
	if current != nil && registrationMatches(current, labels, annotations, data) {
		return nil
	}

	apply := corev1ac.Secret(name, r.Namespace).
		WithType(corev1.SecretTypeOpaque).
		WithLabels(labels).
		WithAnnotations(annotations).
		WithData(map[string][]byte{RegistrationKey: data})
	if err := r.Client.Apply(ctx, apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return provisioningFailed("write the registration Secret", err)
	}
	r.recordWrite(oc, current == nil, "registration Secret "+r.Namespace+"/"+name)
	r.recordRotationStep(oc, current, state)
	return nil
}

// recordRotationStep records an Event when the registration starts to
// accept a new secret or stops accepting the previous one.
func (r *OAuthClientReconciler) recordRotationStep(oc *v1alpha1.OAuthClient, before *corev1.Secret, state rotationState) {
	if state.rotated {
		r.Recorder.Eventf(oc, nil, corev1.EventTypeNormal, v1alpha1.ReasonRotating, "Rotate",
			"issuer registration accepts a new client secret; the previous one works until %s", state.retiring.at.UTC().Format(time.RFC3339))
		return
	}
	if before != nil && before.Annotations[AnnotationRetiringHash] != "" && state.retiring == nil {
		r.Recorder.Eventf(oc, nil, corev1.EventTypeNormal, "SecretRetired", "Retire",
			"issuer registration no longer accepts the previous client secret")
	}
}

// registrationMatches reports whether s carries the wanted labels and
// annotations and holds data under RegistrationKey. The retiring
// annotations must be absent when they are not wanted. Other keys, labels
// and annotations are left alone.
func registrationMatches(s *corev1.Secret, labels, annotations map[string]string, data []byte) bool {
	if string(s.Data[RegistrationKey]) != string(data) {
		return false
	}
	if !annotationsMatch(s.Annotations, annotations, AnnotationRetiringHash, AnnotationRetireAt) {
		return false
	}
	return containsAll(s.Labels, labels) && containsAll(s.Annotations, annotations)
}

func containsAll(got, want map[string]string) bool {
	for k, v := range want {
		if value, ok := got[k]; !ok || value != v {
			return false
		}
	}
	return true
}
