{{/* Name of the chart, overridable. */}}
{{- define "goinject.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified name of the release's objects. */}}
{{- define "goinject.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "goinject.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "goinject.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "goinject.selectorLabels" -}}
app.kubernetes.io/name: {{ include "goinject.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "goinject.labels" -}}
{{ include "goinject.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "goinject.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "goinject.agentImage" -}}
{{- if .Values.agent.image.repository -}}
{{- printf "%s:%s" .Values.agent.image.repository (default .Chart.AppVersion .Values.agent.image.tag) -}}
{{- else -}}
{{- include "goinject.image" . -}}
{{- end -}}
{{- end -}}

{{- define "goinject.secretName" -}}
{{- default (printf "%s-tls" (include "goinject.fullname" .)) .Values.certificates.secretName -}}
{{- end -}}

{{- define "goinject.serviceDNS" -}}
{{- printf "%s.%s.svc" (include "goinject.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* The webhook's configuration file, as JSON. */}}
{{- define "goinject.config" -}}
{{- include "goinject.configJSON" (list . true) -}}
{{- end -}}

{{/*
The configuration without the catalog: its checksum restarts the pods. A catalog change alone
does not, because the webhook reloads its ConfigMap by itself.
*/}}
{{- define "goinject.restartConfig" -}}
{{- include "goinject.configJSON" (list . false) -}}
{{- end -}}

{{- define "goinject.configJSON" -}}
{{- $root := index . 0 -}}
{{- $excluded := concat $root.Values.excludedNamespaces (list $root.Release.Namespace) | uniq -}}
{{- $config := dict
  "mode" $root.Values.mode
  "annotationPrefix" $root.Values.annotationPrefix
  "injectByDefault" $root.Values.injectByDefault
  "excludedNamespaces" $excluded
  "podSecurityEnforcedNamespaces" $root.Values.podSecurityEnforcedNamespaces
  "agent" (dict
    "image" (include "goinject.agentImage" $root)
    "imagePullPolicy" $root.Values.agent.pullPolicy
    "resources" $root.Values.agent.resources
    "env" $root.Values.agent.env) -}}
{{- if index . 1 }}
{{- $_ := set $config "catalog" $root.Values.catalog -}}
{{- end }}
{{- mustMergeOverwrite $config (deepCopy $root.Values.extraConfig) | toPrettyJson -}}
{{- end -}}

{{/* The namespaceSelector; $podSecurity is "in" or "notin" the enforcing levels, or "" for any. */}}
{{- define "goinject.namespaceSelector" -}}
{{- $root := index . 0 -}}
{{- $podSecurity := index . 1 -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ concat $root.Values.webhook.excludedNamespaces (list $root.Release.Namespace) | uniq | toJson }}
{{- if eq $podSecurity "in" }}
  - key: pod-security.kubernetes.io/enforce
    operator: In
    values: ["baseline", "restricted"]
{{- else if eq $podSecurity "notin" }}
  - key: pod-security.kubernetes.io/enforce
    operator: NotIn
    values: ["baseline", "restricted"]
{{- end }}
{{- with $root.Values.webhook.namespaceSelectorExpressions }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{- define "goinject.objectSelector" -}}
matchExpressions:
  - key: app.kubernetes.io/name
    operator: NotIn
    values: [{{ include "goinject.name" . | quote }}]
{{- with .Values.webhook.objectSelectorExpressions }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/* clientConfig of one webhook; $path is the URL path on the service. */}}
{{- define "goinject.clientConfig" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
{{- $caBundle := index . 2 -}}
{{- if $caBundle }}
caBundle: {{ $caBundle }}
{{- end }}
{{- if $root.Values.webhook.url }}
url: {{ printf "%s%s" (trimSuffix "/mutate" (trimSuffix "/" $root.Values.webhook.url)) $path | quote }}
{{- else }}
service:
  name: {{ include "goinject.fullname" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ $path }}
  port: {{ $root.Values.service.port }}
{{- end }}
{{- end -}}
