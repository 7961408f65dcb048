package controller

// The permissions that the controller needs. controller-gen turns these
// markers into config/rbac/role.yaml (`make manifests`): a ClusterRole named
// gatehouse-controller, and a Role in the gatehouse-system namespace for the
// leader election Lease, so that the controller cannot touch other Leases.
//
// The controller reads OAuthClients and writes their status and
// finalizers, writes the credentials, registration, escrow and signing-key
// Secrets, records Events on failures, and holds a Lease for leader
// election.
//
// config/rbac is for installs without Helm. The chart in charts/gatehouse
// renders the same rules with the Lease Role in its release namespace, and
// test/chart fails when the two sets of rules differ.
//
// +kubebuilder:rbac:groups=gatehouse.dev,resources=oauthclients,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gatehouse.dev,resources=oauthclients/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=gatehouse.dev,resources=oauthclients/finalizers,verbs=update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete,namespace=gatehouse-system
