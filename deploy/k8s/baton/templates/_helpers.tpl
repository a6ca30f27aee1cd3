{{/* The release's base name for every object: <release>-baton, or <release> when it says baton already. */}}
{{- define "baton.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "baton.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The labels every pod of the release's cluster carries, whatever its role: Kubernetes API discovery
(pekko.discovery.kubernetes-api.pod-label-selector in cluster.conf) finds the contact points by them.
*/}}
{{- define "baton.clusterSelectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The same labels as a label selector string. */}}
{{- define "baton.clusterSelector" -}}
app.kubernetes.io/name={{ .Chart.Name }},app.kubernetes.io/instance={{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one role's pods; call with (dict "root" $ "role" "prefill"). */}}
{{- define "baton.roleSelectorLabels" -}}
{{ include "baton.clusterSelectorLabels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "baton.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "baton.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "baton.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* terminationGracePeriodSeconds: the drain timeout plus the margin for leaving the cluster. */}}
{{- define "baton.terminationGracePeriodSeconds" -}}
{{ add .Values.drain.timeoutSeconds .Values.drain.exitMarginSeconds }}
{{- end -}}

{{/*
Environment of every Baton container: its pod's IP and name (downward API; the arguments use them as
$(POD_IP) and $(POD_NAME)) and the JVM options the entrypoint passes to java.
Call with (dict "root" $ "jvmOptions" "...").
*/}}
{{- define "baton.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: BATON_JVM_OPTS
  value: {{ .jvmOptions | quote }}
{{- end -}}

{{/* Probes on the management endpoint (Pekko Management's /alive and /ready). */}}
{{- define "baton.probes" -}}
startupProbe:
  httpGet:
    path: /alive
    port: management
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /alive
    port: management
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /ready
    port: management
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
{{- end -}}

{{/* Volumes of every pod: the ConfigMap, scratch directories for a read-only root, the model. */}}
{{- define "baton.volumes" -}}
- name: config
  configMap:
    name: {{ include "baton.fullname" . }}-config
- name: tmp
  emptyDir: {}
- name: cache
  emptyDir: {}
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.shm.sizeLimit }}
{{- with .Values.model.volume }}
- name: model
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "baton.volumeMounts" -}}
- name: config
  mountPath: /etc/baton
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: cache
  mountPath: /var/cache/baton
- name: shm
  mountPath: /dev/shm
{{- if .Values.model.volume }}
- name: model
  mountPath: {{ .Values.model.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}
