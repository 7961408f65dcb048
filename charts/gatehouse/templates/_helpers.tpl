{{/*
Chart name, shortened to 63 characters, the limit of a label value.
*/}}
{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Name prefix of every object. It is the release name when that contains the
chart name, so a release named gatehouse gets gatehouse-issuer and
gatehouse-extauthz. It is cut to 48 characters so that the longest suffix
("-extauthz-sidecar") still fits in 63.
*/}}
{{- define "gatehouse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gatehouse
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels of one workload's objects: call with (dict "root" $ "component" "issuer").
*/}}
{{- define "gatehouse.componentLabels" -}}
{{ include "gatehouse.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Selector labels of one workload: call with (dict "root" $ "component" "issuer").
*/}}
{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Container image reference: repository, then the tag (default appVersion),
then the digest when one is set.
*/}}
{{- define "gatehouse.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
In-cluster base URL of this release's issuer Service.
*/}}
{{- define "gatehouse.issuerServiceURL" -}}
{{- $host := printf "%s-issuer.%s.svc.%s" (include "gatehouse.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- if eq (int .Values.issuer.service.port) 80 }}
{{- printf "http://%s" $host }}
{{- else }}
{{- printf "http://%s:%d" $host (int .Values.issuer.service.port) }}
{{- end }}
{{- end }}

{{/*
Issuer identifier: issuerURL, else the issuer Service's URL.
*/}}
{{- define "gatehouse.issuerURL" -}}
{{- if .Values.issuerURL }}
{{- .Values.issuerURL }}
{{- else if .Values.issuer.enabled }}
{{- include "gatehouse.issuerServiceURL" . }}
{{- else }}
{{- fail "issuerURL is empty while issuer.enabled is false: set issuerURL to the URL of the issuer that ext_authz and the controller use" }}
{{- end }}
{{- end }}

{{/*
Name of the signing-key Secret.
*/}}
{{- define "gatehouse.signingKeysSecret" -}}
{{- default (printf "%s-signing-keys" (include "gatehouse.fullname" .)) .Values.signingKeys.secretName }}
{{- end }}

{{/*
The podSecurityContext, imagePullSecrets and scheduling fields shared by
every pod: call with (dict "root" $ "values" .Values.issuer).
*/}}
{{- define "gatehouse.podCommon" -}}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Pod metadata of one workload: call with
(dict "root" $ "component" "issuer" "values" .Values.issuer "checksum" "...").
*/}}
{{- define "gatehouse.podMetadata" -}}
labels:
  {{- include "gatehouse.selectorLabels" . | nindent 2 }}
  {{- with .values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- if or .values.podAnnotations .checksum }}
annotations:
  {{- with .checksum }}
  checksum/config: {{ . }}
  {{- end }}
  {{- with .values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
Log flags shared by every container.
*/}}
{{- define "gatehouse.logArgs" -}}
- --log-format={{ .Values.logging.format }}
- --log-level={{ .Values.logging.level }}
{{- end }}

{{/*
A PodDisruptionBudget: call with (dict "root" $ "component" "issuer" "values" .Values.issuer).
*/}}
{{- define "gatehouse.pdb" -}}
{{- if .values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "gatehouse.fullname" .root }}-{{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "gatehouse.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "gatehouse.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/*
A HorizontalPodAutoscaler: call with (dict "root" $ "component" "issuer" "values" .Values.issuer).
*/}}
{{- define "gatehouse.hpa" -}}
{{- if .values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "gatehouse.fullname" .root }}-{{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "gatehouse.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "gatehouse.fullname" .root }}-{{ .component }}
  minReplicas: {{ .values.autoscaling.minReplicas }}
  maxReplicas: {{ .values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end }}

{{/*
A metrics Service and its ServiceMonitor: call with
(dict "root" $ "component" "issuer" "port" 8081).
*/}}
{{- define "gatehouse.serviceMonitor" -}}
{{- $monitor := .root.Values.metrics.serviceMonitor }}
{{- if $monitor.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "gatehouse.fullname" .root }}-{{ .component }}-metrics
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "gatehouse.componentLabels" . | nindent 4 }}
    gatehouse.dev/metrics: "true"
spec:
  type: ClusterIP
  selector:
    {{- include "gatehouse.selectorLabels" . | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .port }}
      targetPort: {{ .port }}
      protocol: TCP
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "gatehouse.fullname" .root }}-{{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "gatehouse.componentLabels" . | nindent 4 }}
    {{- with $monitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "gatehouse.selectorLabels" . | nindent 6 }}
      gatehouse.dev/metrics: "true"
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ $monitor.interval }}
      scrapeTimeout: {{ $monitor.scrapeTimeout }}
{{- end }}
{{- end }}

{{/*
Seconds in a Go duration string such as "1h30m" or "500ms", as a float, so
that validate.yaml can compare durations. The schema has already checked
the form.
*/}}
{{- define "gatehouse.seconds" -}}
{{- $units := dict "h" 3600.0 "m" 60.0 "s" 1.0 "ms" 0.001 "us" 0.000001 "µs" 0.000001 "ns" 0.000000001 }}
{{- $total := 0.0 }}
{{- range $part := regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" (toString .) -1 }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $part }}
{{- $unit := trimPrefix $number $part }}
{{- $total = addf $total (mulf (float64 $number) (index $units $unit)) }}
{{- end }}
{{- $total }}
{{- end }}
