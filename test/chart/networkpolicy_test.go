package chart

import (
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestNetworkPolicies checks the ingress policies of the all-features
// values: admin and metrics ports are never open to every source, and a
// restricted token endpoint still admits the release's own ext_authz pods
// and sidecar namespaces, which fetch the issuer's keys.
func TestNetworkPolicies(t *testing.T) {
	objs := render(t, valuesCases[1])
	policies := objectsOfKind(objs, "NetworkPolicy")
	if len(policies) != 3 {
		t.Fatalf("got %d NetworkPolicies, want one per workload (3)", len(policies))
	}
	for _, o := range policies {
		var np networkingv1.NetworkPolicy
		convert(t, o, &np)
		for _, rule := range np.Spec.Ingress {
			if hasPort(rule, "admin", "metrics") && len(rule.From) == 0 {
				t.Errorf("NetworkPolicy %s opens an admin or metrics port to every source", np.Name)
			}
		}
	}

	var issuer networkingv1.NetworkPolicy
	convert(t, findObject(t, objs, "NetworkPolicy", "gatehouse-issuer"), &issuer)
	idx := slices.IndexFunc(issuer.Spec.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool { return hasPort(r, "http") })
	if idx < 0 {
		t.Fatal("issuer NetworkPolicy has no rule for the http port")
	}
	peers := issuer.Spec.Ingress[idx].From
	extauthzPods := slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool {
		return p.PodSelector != nil && p.NamespaceSelector == nil &&
			p.PodSelector.MatchLabels["app.kubernetes.io/component"] == "extauthz"
	})
	if !extauthzPods {
		t.Errorf("issuer http rule does not admit the release's ext_authz pods: %+v", peers)
	}
	sidecars := slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool {
		if p.NamespaceSelector == nil {
			return false
		}
		return slices.ContainsFunc(p.NamespaceSelector.MatchExpressions, func(e metav1.LabelSelectorRequirement) bool {
			return e.Key == "kubernetes.io/metadata.name" && slices.Contains(e.Values, sidecarNamespace)
		})
	})
	if !sidecars {
		t.Errorf("issuer http rule does not admit the sidecar namespace %s: %+v", sidecarNamespace, peers)
	}
}

// hasPort reports whether rule names one of the ports.
func hasPort(rule networkingv1.NetworkPolicyIngressRule, names ...string) bool {
	return slices.ContainsFunc(rule.Ports, func(p networkingv1.NetworkPolicyPort) bool {
		return p.Port != nil && p.Port.Type == intstr.String && slices.Contains(names, p.Port.StrVal)
	})
}
