{{/*
The controller's permissions. They mirror config/rbac/role.yaml, which
controller-gen generates from the markers in controller/rbac.go. A test in
test/chart fails when the two differ.
*/}}

{{/* Secrets it writes, and the Events it records on failures. */}}
{{- define "gatehouse.controllerSecretRules" -}}
- apiGroups: [""]
  resources: [secrets]
  verbs: [create, delete, get, list, patch, update, watch]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* OAuthClients it reconciles, with their status and finalizers. */}}
{{- define "gatehouse.controllerOAuthClientRules" -}}
- apiGroups: [gatehouse.dev]
  resources: [oauthclients]
  verbs: [get, list, patch, update, watch]
- apiGroups: [gatehouse.dev]
  resources: [oauthclients/finalizers]
  verbs: [patch, update]
- apiGroups: [gatehouse.dev]
  resources: [oauthclients/status]
  verbs: [get, patch, update]
{{- end }}

{{/* The leader-election Lease. */}}
{{- define "gatehouse.controllerLeaseRules" -}}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create, delete, get, list, patch, update, watch]
{{- end }}
