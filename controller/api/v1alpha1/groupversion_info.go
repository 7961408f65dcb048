package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of the types in this package.
var GroupVersion = schema.GroupVersion{Group: "gatehouse.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the types of this package with a
	// runtime.Scheme. Registration is explicit, through AddToScheme, and
	// never happens in an init function.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers OAuthClient and OAuthClientList under
// GroupVersion, with the metav1 options types that list and watch calls use.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &OAuthClient{}, &OAuthClientList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
