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
  "podSecurityDefault" $root.Values.podSecurityDefault
  "podSecurityExemptNamespaces" $root.Values.podSecurityExemptNamespaces
  "ptraceWithHostPID" $root.Values.ptraceWithHostPID
  "agent" (dict
    "image" (include "goinject.agentImage" $root)
    "imagePullPolicy" $root.Values.agent.pullPolicy
    "resources" $root.Values.agent.resources
    "env" (default (dict "any" (list) "glibc" (list) "musl" (list)) $root.Values.agent.env)) -}}
{{- $_ := set $config "registry" (include "goinject.registryConfig" $root | fromJson) -}}
{{- if index . 1 }}
{{- $_ := set $config "catalog" $root.Values.catalog -}}
{{- end }}
{{- mustMergeOverwrite $config (deepCopy $root.Values.extraConfig) | toPrettyJson -}}
{{- end -}}

{{/*
The registry layer. Files are mounted by deployment.yaml at these paths, and
named in config.json only when the chart mounts them.
*/}}
{{- define "goinject.registryCADir" -}}/etc/goinject/registry-ca{{- end -}}
{{- define "goinject.registryCredentialsDir" -}}/etc/goinject/registry-credentials{{- end -}}

{{/* "true" when a registry CA ConfigMap or Secret is configured (and the layer is on). */}}
{{- define "goinject.registryCA" -}}
{{- $r := .Values.registry -}}
{{- if and $r.enabled $r.ca.configMap $r.ca.secret -}}
{{- fail "registry.ca: set configMap or secret, not both" -}}
{{- end -}}
{{- if and $r.enabled (or $r.ca.configMap $r.ca.secret) -}}true{{- end -}}
{{- end -}}

{{/* "true" when a dockerconfigjson Secret is configured (and the layer is on). */}}
{{- define "goinject.registryCredentials" -}}
{{- if and .Values.registry.enabled .Values.registry.credentials.secretName -}}true{{- end -}}
{{- end -}}

{{/*
"true" when goinject reads pods' imagePullSecrets from the API server: only then
is the ServiceAccount token mounted and the Secrets ClusterRole rendered.
*/}}
{{- define "goinject.podPullSecrets" -}}
{{- if and .Values.registry.enabled .Values.registry.podPullSecrets -}}true{{- end -}}
{{- end -}}

{{/*
Checks that the schema cannot express: the lookup budget must leave at least
1 s of the webhook's timeout for the rest of the review (the contract: the budget
is always under the webhook timeout), so a slow registry never makes the API
server give up on goinject.
*/}}
{{- define "goinject.validate" -}}
{{- $r := .Values.registry -}}
{{- if $r.enabled -}}
{{- $budget := int $r.budgetMs -}}
{{- $timeoutMs := mul (int .Values.webhook.timeoutSeconds) 1000 -}}
{{- if lt $budget 100 -}}
{{- fail (printf "registry.budgetMs=%d is too small: it must be at least 100 (milliseconds)" $budget) -}}
{{- end -}}
{{- if gt $budget (sub $timeoutMs 1000) -}}
{{- fail (printf "registry.budgetMs=%d is too close to webhook.timeoutSeconds=%d: the registry budget must end at least 1000 ms before the webhook timeout, so budgetMs may be at most %d (lower it, or raise webhook.timeoutSeconds)" $budget (int .Values.webhook.timeoutSeconds) (sub $timeoutMs 1000)) -}}
{{- end -}}
{{- end -}}
{{- /* for its check only: what it prints must not reach the manifest */ -}}
{{- $_ := include "goinject.registryCA" . -}}
{{- include "goinject.validateAgentEnv" . -}}
{{- end -}}

{{/*
agent.env, as goinject checks it at load (the schema checks each variable):
no name twice in a set, and no name of "any" in "glibc" or "musl" too, since
a container of that libc would get it twice. A plain list is the "any" set.
*/}}
{{- define "goinject.validateAgentEnv" -}}
{{- $env := .Values.agent.env -}}
{{- $sets := dict -}}
{{- if kindIs "slice" $env -}}
{{- $_ := set $sets "any" $env -}}
{{- else if kindIs "map" $env -}}
{{- $sets = $env -}}
{{- end -}}
{{- $anyNames := list -}}
{{- range (get $sets "any" | default list) -}}
{{- $anyNames = append $anyNames .name -}}
{{- end -}}
{{- range $set, $vars := $sets -}}
{{- $seen := list -}}
{{- range $vars -}}
{{- if has .name $seen -}}
{{- fail (printf "agent.env.%s: %s is set twice" $set .name) -}}
{{- end -}}
{{- if and (ne $set "any") (has .name $anyNames) -}}
{{- fail (printf "agent.env.%s: %s is in agent.env.any too; set it in one place" $set .name) -}}
{{- end -}}
{{- $seen = append $seen .name -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* config.json's "registry" object, as JSON. */}}
{{- define "goinject.registryConfig" -}}
{{- $r := .Values.registry -}}
{{- if not $r.enabled -}}
{{- dict "enabled" false | toJson -}}
{{- else -}}
{{- $c := dict
  "enabled" true
  "budgetMs" (int $r.budgetMs)
  "platform" $r.platform
  "insecureHosts" (default (list) $r.insecureHosts)
  "podPullSecrets" (eq (include "goinject.podPullSecrets" .) "true")
  "mirrors" (default (dict) $r.mirrors)
  "tagTTLSeconds" (int $r.tagTTLSeconds) -}}
{{- if include "goinject.registryCA" . -}}
{{- $_ := set $c "caFile" (printf "%s/%s" (include "goinject.registryCADir" .) $r.ca.key) -}}
{{- end -}}
{{- if include "goinject.registryCredentials" . -}}
{{- $_ := set $c "credentialsFile" (printf "%s/.dockerconfigjson" (include "goinject.registryCredentialsDir" .)) -}}
{{- end -}}
{{- toJson $c -}}
{{- end -}}
{{- end -}}

{{/*
The namespaceSelector. $podSecurity picks namespaces by their pod-security.kubernetes.io/enforce
label: "in" or "notin" the enforcing levels (baseline, restricted), "privileged" for those labelled
privileged, "notin-any" for those labelled none of the three, or "" for any.
*/}}
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
{{- else if eq $podSecurity "privileged" }}
  - key: pod-security.kubernetes.io/enforce
    operator: In
    values: ["privileged"]
{{- else if eq $podSecurity "notin-any" }}
  - key: pod-security.kubernetes.io/enforce
    operator: NotIn
    values: ["baseline", "restricted", "privileged"]
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
