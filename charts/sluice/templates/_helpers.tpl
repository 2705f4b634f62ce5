{{/* Names are cut to 63 characters: the limit of a DNS label and of a label value. */}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Selector labels never change after install (a Deployment's selector is immutable). */}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end }}

{{- define "sluice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ include "sluice.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- end }}

{{- define "sluice.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "sluice.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "sluice.tag" .) }}
{{- end }}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the database URL: the user's, or the chart's. */}}
{{- define "sluice.databaseSecret" -}}
{{- .Values.database.existingSecret | default (include "sluice.fullname" .) }}
{{- end }}

{{/* The Secret holding the HS256 secret, or nothing when tokens are verified by public keys only. */}}
{{- define "sluice.jwtSecret" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else if .Values.auth.jwtSecret }}
{{- include "sluice.fullname" . }}
{{- end }}
{{- end }}

{{/* Fails the render early, with a message, on values that cannot work. */}}
{{- define "sluice.validate" -}}
{{- if not (or .Values.database.url .Values.database.existingSecret) }}
{{- fail "set database.url or database.existingSecret: sluice-control needs Postgres" }}
{{- end }}
{{- if and .Values.database.url .Values.database.existingSecret }}
{{- fail "set only one of database.url and database.existingSecret" }}
{{- end }}
{{- if not (or .Values.auth.jwtSecret .Values.auth.existingSecret .Values.auth.jwksUrl .Values.auth.jwks) }}
{{- fail "set a token key: auth.jwtSecret, auth.existingSecret, auth.jwksUrl or auth.jwks" }}
{{- end }}
{{- if and .Values.auth.jwtSecret .Values.auth.existingSecret }}
{{- fail "set only one of auth.jwtSecret and auth.existingSecret" }}
{{- end }}
{{- end }}

{{/* The namespaces the runtime manages when it is not cluster-wide. */}}
{{- define "sluice.managedNamespaces" -}}
{{- if .Values.rbac.namespaces }}
{{- join "," (uniq .Values.rbac.namespaces) }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/* DATABASE_URL from a Secret: sluice-control has no file variant of this flag. */}}
{{- define "sluice.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "sluice.databaseSecret" . }}
      key: {{ .Values.database.existingSecretKey }}
{{- end }}
