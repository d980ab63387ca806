{{/* The chart's name, or nameOverride. */}}
{{- define "vireo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every object name: the release name, with the chart name added unless it has it already. */}}
{{- define "vireo.fullname" -}}
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

{{/* Labels that select the controller's pods; they never change across upgrades. */}}
{{- define "vireo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vireo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "vireo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vireo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "vireo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vireo.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Lease the controller takes for leader election (its --instance-id is part of the name). */}}
{{- define "vireo.leaseName" -}}
{{- if .Values.instanceID }}
{{- printf "vireo-controller-lock-%s" .Values.instanceID }}
{{- else }}
{{- print "vireo-controller-lock" }}
{{- end }}
{{- end }}

{{/*
What the controller reads and writes (least privilege; docs/adr/0015-install-artifacts.md). The same
rules as manifests/install.yaml and namespace-install.yaml, which a test checks. ClusterAnalysisTemplates
are cluster-scoped, so a namespaced install (a Role) leaves them out.
*/}}
{{- define "vireo.rules" -}}
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [get, list, watch, update, patch]
- apiGroups: [argoproj.io]
  resources: [rollouts/status, analysisruns/status]
  verbs: [update, patch]
- apiGroups: [argoproj.io]
  resources: [rollouts/scale]
  verbs: [get, update, patch]
# Needed to set owner references with blockOwnerDeletion on the objects it creates.
- apiGroups: [argoproj.io]
  resources: [rollouts/finalizers, analysisruns/finalizers]
  verbs: [update]
- apiGroups: [argoproj.io]
  resources: [analysisruns]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [argoproj.io]
  {{- if .Values.namespaced }}
  resources: [analysistemplates, experiments]
  {{- else }}
  resources: [analysistemplates, clusteranalysistemplates, experiments]
  {{- end }}
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list, watch, create, update, patch, delete]
# Rollouts with workloadRef read their template from a Deployment and scale it down.
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, update, patch]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, update, patch]
# Patch: canaryMetadata/stableMetadata labels and annotations are written onto running pods.
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, patch]
# Restarts go through the eviction API so that PodDisruptionBudgets are honoured.
- apiGroups: [""]
  resources: [pods/eviction]
  verbs: [create]
# Analysis args from secretKeyRef: read by name, never listed.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, list, watch, create, update, patch]
- apiGroups: [traefik.io, traefik.containo.us]
  resources: [traefikservices]
  verbs: [get, list, watch, create, update, patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
{{- end }}

{{/* Leader election: create cannot be limited by name in Kubernetes RBAC; get and update can. */}}
{{- define "vireo.leaseRules" -}}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [{{ include "vireo.leaseName" . | quote }}]
  verbs: [get, update]
{{- end }}
