package chart

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// nonrootUID is the user of the distroless image's nonroot account.
const nonrootUID = 65532

// podSpecs returns the pod template of every Deployment in objs, by
// Deployment name.
func podSpecs(t *testing.T, objs []*unstructured.Unstructured) map[string]corev1.PodSpec {
	t.Helper()
	specs := map[string]corev1.PodSpec{}
	for _, o := range objectsOfKind(objs, "Deployment") {
		var d appsv1.Deployment
		convert(t, o, &d)
		specs[d.Name] = d.Spec.Template.Spec
	}
	return specs
}

func TestSecurityDefaults(t *testing.T) {
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			specs := podSpecs(t, render(t, c))
			if len(specs) == 0 {
				t.Fatal("no Deployment rendered")
			}
			for name, spec := range specs {
				checkPodSecurity(t, name, spec)
			}
		})
	}
}

// checkPodSecurity checks the restricted security settings and the probes
// of a pod and of each of its containers.
func checkPodSecurity(t *testing.T, name string, spec corev1.PodSpec) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil {
		t.Errorf("%s: pod has no securityContext", name)
		return
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod runAsNonRoot is %v, want true", name, psc.RunAsNonRoot)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccompProfile is %v, want RuntimeDefault", name, psc.SeccompProfile)
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("%s: pod shares a host namespace", name)
	}
	containers := slices.Concat(spec.InitContainers, spec.Containers)
	for _, ctr := range containers {
		checkContainerSecurity(t, fmt.Sprintf("%s/%s", name, ctr.Name), ctr)
	}
}

// checkContainerSecurity checks one container's securityContext and probes.
func checkContainerSecurity(t *testing.T, name string, ctr corev1.Container) {
	t.Helper()
	sc := ctr.SecurityContext
	if sc == nil {
		t.Errorf("%s: container has no securityContext", name)
		return
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: runAsNonRoot is %v, want true", name, sc.RunAsNonRoot)
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != nonrootUID {
		t.Errorf("%s: runAsUser is %v, want %d", name, sc.RunAsUser, nonrootUID)
	}

	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is %v, want false", name, sc.AllowPrivilegeEscalation)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is %v, want true", name, sc.ReadOnlyRootFilesystem)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("%s: privileged is true", name)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: capabilities are %v, want drop [ALL]", name, sc.Capabilities)
	}
	if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities add %v, want none", name, sc.Capabilities.Add)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile is %v, want RuntimeDefault", name, sc.SeccompProfile)
	}

	if ctr.LivenessProbe == nil {
		t.Errorf("%s: no livenessProbe", name)
	}
	if ctr.ReadinessProbe == nil {
		t.Errorf("%s: no readinessProbe", name)
	}
	if ctr.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: no memory limit", name)
	}
}

// TestServiceAccountTokens checks that only the issuer and the controller,
// which call the Kubernetes API, get a ServiceAccount token.
func TestServiceAccountTokens(t *testing.T) {
	want := map[string]bool{"gatehouse-issuer": true, "gatehouse-extauthz": false, "gatehouse-controller": true}
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			objs := render(t, c)
			for name, spec := range podSpecs(t, objs) {
				mounted := spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken
				if mounted != want[name] {
					t.Errorf("%s: ServiceAccount token mounted = %v, want %v", name, mounted, want[name])
				}
				if spec.ServiceAccountName != name {
					t.Errorf("%s: serviceAccountName is %q, want %q", name, spec.ServiceAccountName, name)
				}
			}
			for _, o := range objectsOfKind(objs, "ServiceAccount") {
				var sa corev1.ServiceAccount
				convert(t, o, &sa)
				if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
					t.Errorf("ServiceAccount %s: automountServiceAccountToken is %v, want false", sa.Name, sa.AutomountServiceAccountToken)
				}
			}
		})
	}
}

// TestIssuerRBAC checks that the issuer may only read Secrets, in its own
// namespace, and that ext_authz is bound to no role at all.
func TestIssuerRBAC(t *testing.T) {
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			objs := render(t, c)
			bindings := subjectBindings(t, objs)
			checkExtauthzUnbound(t, bindings)
			if !hasObject(objs, "Deployment", "gatehouse-issuer") {
				return
			}

			issuerBindings := bindings["gatehouse-issuer"]
			if len(issuerBindings) != 1 {
				t.Fatalf("issuer ServiceAccount has %d bindings %v, want one RoleBinding", len(issuerBindings), issuerBindings)
			}
			b := issuerBindings[0]
			if b.Kind != "RoleBinding" || b.Namespace != releaseNamespace || b.RoleRef.Kind != "Role" {
				t.Fatalf("issuer binding is %s %s/%s to %s, want a RoleBinding in %s to a Role", b.Kind, b.Namespace, b.Name, b.RoleRef.Kind, releaseNamespace)
			}

			var role rbacv1.Role
			convert(t, findObject(t, objs, "Role", b.RoleRef.Name), &role)
			if role.Namespace != releaseNamespace {
				t.Errorf("issuer Role namespace is %q, want %q", role.Namespace, releaseNamespace)
			}
			want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}}}
			if diff := cmp.Diff(want, role.Rules); diff != "" {
				t.Errorf("issuer Role rules mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// binding is a RoleBinding or ClusterRoleBinding of one ServiceAccount.
type binding struct {
	Kind, Namespace, Name string
	RoleRef               rbacv1.RoleRef
}

// subjectBindings returns the bindings of objs by ServiceAccount name. It
// fails the test on a binding of a ServiceAccount outside the release
// namespace, or of a user or group.
func subjectBindings(t *testing.T, objs []*unstructured.Unstructured) map[string][]binding {
	t.Helper()
	out := map[string][]binding{}
	for _, o := range objs {
		if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
			continue
		}
		var rb rbacv1.RoleBinding
		convert(t, retype(o, "RoleBinding"), &rb)
		for _, s := range rb.Subjects {
			if s.Kind != "ServiceAccount" || s.Namespace != releaseNamespace {
				t.Errorf("%s %s binds %s %s/%s, want only ServiceAccounts of %s", o.GetKind(), o.GetName(), s.Kind, s.Namespace, s.Name, releaseNamespace)
				continue
			}
			out[s.Name] = append(out[s.Name], binding{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), RoleRef: rb.RoleRef})
		}
	}
	return out
}

// retype returns a copy of o with its kind replaced, so that a
// ClusterRoleBinding decodes into the RoleBinding type it shares fields with.
func retype(o *unstructured.Unstructured, kind string) *unstructured.Unstructured {
	c := o.DeepCopy()
	c.SetKind(kind)
	return c
}

// checkExtauthzUnbound fails the test when ext_authz has any binding.
func checkExtauthzUnbound(t *testing.T, bindings map[string][]binding) {
	t.Helper()
	if b := bindings["gatehouse-extauthz"]; len(b) > 0 {
		t.Errorf("ext_authz ServiceAccount has bindings %v, want none", b)
	}
}

// hasObject reports whether objs holds an object of kind and name.
func hasObject(objs []*unstructured.Unstructured, kind, name string) bool {
	return slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool {
		return o.GetKind() == kind && o.GetName() == name
	})
}

// generatedRBAC reads config/rbac/role.yaml, which controller-gen writes
// from the controller's markers, and returns its ClusterRole and Role rules.
func generatedRBAC(t *testing.T) (cluster, lease []rbacv1.PolicyRule) {
	t.Helper()
	data, err := os.ReadFile("../../config/rbac/role.yaml")
	if err != nil {
		t.Fatalf("read generated RBAC: %v", err)
	}
	objs, err := decodeObjects(string(data))
	if err != nil {
		t.Fatalf("decode generated RBAC: %v", err)
	}
	var cr rbacv1.ClusterRole
	convert(t, findObject(t, objs, "ClusterRole", "gatehouse-controller"), &cr)
	var r rbacv1.Role
	convert(t, findObject(t, objs, "Role", "gatehouse-controller"), &r)
	return cr.Rules, r.Rules
}

// sortRules orders rules and their fields, so that two equal sets compare
// equal whatever order they were written in.
var sortRules = cmp.Options{
	cmpopts.SortSlices(func(a, b string) bool { return a < b }),
	cmpopts.SortSlices(func(a, b rbacv1.PolicyRule) bool { return fmt.Sprint(a) < fmt.Sprint(b) }),
}

// TestControllerRBACMatchesGenerated checks that the chart grants the
// controller what controller-gen generates from its markers, no more and no
// less, and that the leader-election Lease Role is in the release
// namespace rather than the generated gatehouse-system.
func TestControllerRBACMatchesGenerated(t *testing.T) {
	wantCluster, wantLease := generatedRBAC(t)

	t.Run("cluster-wide", func(t *testing.T) {
		objs := render(t, valuesCases[0])
		var cr rbacv1.ClusterRole
		convert(t, findObject(t, objs, "ClusterRole", "gatehouse-controller-gatehouse"), &cr)
		if diff := cmp.Diff(wantCluster, cr.Rules, sortRules); diff != "" {
			t.Errorf("ClusterRole rules differ from config/rbac (-generated +chart):\n%s", diff)
		}
		checkLeaseRole(t, objs, wantLease)
	})

	t.Run("namespaced", func(t *testing.T) {
		objs := render(t, valuesCase{name: "namespaced", files: []string{"namespaced.yaml"}})
		if crs := objectsOfKind(objs, "ClusterRole"); len(crs) > 0 {
			t.Errorf("got ClusterRole %s with watchNamespaces set, want Roles only", crs[0].GetName())
		}
		for _, ns := range []string{"orders", "payments"} {
			role := roleIn(t, objs, "gatehouse-controller", ns)
			if diff := cmp.Diff(wantCluster, role.Rules, sortRules); diff != "" {
				t.Errorf("Role in %s differs from the generated ClusterRole (-generated +chart):\n%s", ns, diff)
			}
		}
		// The release namespace holds registration and key-set Secrets but
		// no watched OAuthClients.
		own := roleIn(t, objs, "gatehouse-controller", releaseNamespace)
		for _, r := range own.Rules {
			if slices.Contains(r.APIGroups, "gatehouse.dev") {
				t.Errorf("Role in the release namespace grants %v on gatehouse.dev, want Secrets and Events only", r.Resources)
			}
		}
		checkLeaseRole(t, objs, wantLease)
	})
}

// roleIn returns the Role called name in namespace ns, or fails the test.
func roleIn(t *testing.T, objs []*unstructured.Unstructured, name, ns string) rbacv1.Role {
	t.Helper()
	for _, o := range objectsOfKind(objs, "Role") {
		if o.GetName() == name && o.GetNamespace() == ns {
			var r rbacv1.Role
			convert(t, o, &r)
			return r
		}
	}
	t.Fatalf("no Role %s in namespace %s", name, ns)
	return rbacv1.Role{}
}

// checkLeaseRole checks the controller's leader-election Role.
func checkLeaseRole(t *testing.T, objs []*unstructured.Unstructured, want []rbacv1.PolicyRule) {
	t.Helper()
	role := roleIn(t, objs, "gatehouse-controller-leader-election", releaseNamespace)
	if diff := cmp.Diff(want, role.Rules, sortRules); diff != "" {
		t.Errorf("leader-election Role differs from config/rbac (-generated +chart):\n%s", diff)
	}
}

// TestEmbeddedStoreSinglePod checks that the embedded store's Deployment
// replaces its pod instead of rolling, since two pods cannot open the file.
func TestEmbeddedStoreSinglePod(t *testing.T) {
	var d appsv1.Deployment
	convert(t, findObject(t, render(t, valuesCases[0]), "Deployment", "gatehouse-issuer"), &d)
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("issuer strategy is %q, want Recreate", d.Spec.Strategy.Type)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("issuer replicas is %v, want 1", d.Spec.Replicas)
	}
}

// TestSecretsNotRendered checks that the chart renders no Secret: passwords
// come from Secrets that the operator creates, and signing keys from the
// controller.
func TestSecretsNotRendered(t *testing.T) {
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			if s := objectsOfKind(render(t, c), "Secret"); len(s) > 0 {
				out, _ := yaml.Marshal(s[0].Object)
				t.Errorf("chart renders a Secret:\n%s", out)
			}
		})
	}
}
