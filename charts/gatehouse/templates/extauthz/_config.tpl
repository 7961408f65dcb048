{{/*
The ext_authz configuration file (docs/extauthz-config.md). The first
issuer is issuerURL. When this release runs the issuer, ext_authz fetches
its keys and revocations from the issuer Service inside the cluster, so
that no check depends on the route by which clients reach the issuer.
*/}}
{{- define "gatehouse.extauthzConfig" -}}
{{- $ext := .Values.extauthz }}
{{- $issuerURL := include "gatehouse.issuerURL" . }}
{{- $base := $issuerURL }}
{{- if .Values.issuer.enabled }}
{{- $base = printf "%s%s" (include "gatehouse.issuerServiceURL" .) (urlParse $issuerURL).path }}
{{- end }}
{{- $own := dict "issuer" $issuerURL "audiences" $ext.audiences "refreshInterval" $ext.refreshInterval }}
{{- if $ext.jwksURI }}
{{- $_ := set $own "jwksURI" $ext.jwksURI }}
{{- else if .Values.issuer.enabled }}
{{- $_ := set $own "jwksURI" (printf "%s/oauth2/jwks" $base) }}
{{- end }}
{{- if $ext.revocationFeed.enabled }}
{{- $_ := set $own "revocationFeedURI" (default (printf "%s/oauth2/revocations" $base) $ext.revocationFeed.uri) }}
{{- end }}
{{- $config := dict
  "issuers" (prepend $ext.trustedIssuers $own)
  "headers" $ext.headers
  "realm" $ext.realm
  "leeway" $ext.leeway
  "maxTokenBytes" $ext.maxTokenBytes
  "cacheSize" $ext.cacheSize }}
{{- with $ext.rules }}
{{- $_ := set $config "rules" . }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
A ConfigMap holding the ext_authz configuration file: call with
(dict "root" $ "name" "..." "namespace" "...").
*/}}
{{- define "gatehouse.extauthzConfigMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  labels:
    {{- include "gatehouse.componentLabels" (dict "root" .root "component" "extauthz") | nindent 4 }}
data:
  extauthz.yaml: |
    {{- include "gatehouse.extauthzConfig" .root | nindent 4 }}
{{- end }}
