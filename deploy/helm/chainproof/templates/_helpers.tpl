{{- define "chainproof.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "chainproof.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "chainproof.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "chainproof.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Secret holding each value: the user's existing one, else the chart's. */}}
{{- define "chainproof.keySecret" -}}
{{- .Values.serverKey.existingSecret | default (include "chainproof.fullname" .) -}}
{{- end -}}
{{- define "chainproof.databaseSecret" -}}
{{- .Values.database.existingSecret | default (include "chainproof.fullname" .) -}}
{{- end -}}
{{- define "chainproof.casSecret" -}}
{{- .Values.cas.existingSecret | default (include "chainproof.fullname" .) -}}
{{- end -}}

{{- define "chainproof.publicUrl" -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl -}}
{{- else if .Values.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tlsSecretName))) .Values.ingress.host -}}
{{- else -}}
{{- printf "http://%s" (include "chainproof.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The environment of every chainproof container: the database and the settings. */}}
{{- define "chainproof.env" -}}
- name: CHAINPROOF_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "chainproof.databaseSecret" . }}
      key: database-url
- name: CHAINPROOF_PUBLIC_URL
  value: {{ include "chainproof.publicUrl" . | quote }}
- name: CHAINPROOF_DATABASE_POOL_SIZE
  value: {{ .Values.database.poolSize | int | toString | quote }}
- name: CHAINPROOF_DATABASE_MAX_OVERFLOW
  value: {{ .Values.database.maxOverflow | int | toString | quote }}
{{- with .Values.cas.allowedEndpoints }}
- name: CHAINPROOF_CAS_ALLOWED_ENDPOINTS
  value: {{ . | quote }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: CHAINPROOF_{{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The data dir: an emptyDir with the server key mounted as its secret.key. */}}
{{- define "chainproof.dataVolumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
- name: server-key
  secret:
    secretName: {{ include "chainproof.keySecret" . }}
    defaultMode: 0440
    items:
      - key: secret-key
        path: secret.key
{{- end -}}
{{- define "chainproof.dataMounts" -}}
- name: data
  mountPath: /var/lib/chainproof
- name: tmp
  mountPath: /tmp
- name: server-key
  mountPath: /var/lib/chainproof/secret.key
  subPath: secret.key
  readOnly: true
{{- end -}}
