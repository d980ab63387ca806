/**
 * Kubernetes core types that Vireo's kinds embed. Only what Vireo reads is modelled; the rest is kept
 * as written (`openObject`), so a valid Kubernetes field is never rejected.
 */
import { freeform, intOrString, openObject, stringMap, Type, templateMeta } from './schema.js';

export const labelSelector = () =>
  openObject({
    matchLabels: Type.Optional(stringMap()),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object({
          key: Type.String(),
          operator: Type.String(),
          values: Type.Optional(Type.Array(Type.String())),
        }),
      ),
    ),
  });

const envVar = () =>
  openObject({
    name: Type.String(),
    value: Type.Optional(Type.String()),
    valueFrom: Type.Optional(freeform()),
  });

const httpGetAction = () =>
  openObject({
    path: Type.Optional(Type.String()),
    port: intOrString(),
    host: Type.Optional(Type.String()),
    scheme: Type.Optional(Type.String()),
    httpHeaders: Type.Optional(Type.Array(Type.Object({ name: Type.String(), value: Type.String() }))),
  });

const probe = () =>
  openObject({
    httpGet: Type.Optional(httpGetAction()),
    tcpSocket: Type.Optional(openObject({ port: intOrString(), host: Type.Optional(Type.String()) })),
    exec: Type.Optional(openObject({ command: Type.Optional(Type.Array(Type.String())) })),
    grpc: Type.Optional(freeform()),
    // 0 means "use the default" (Kubernetes defaults the pod template before validating it).
    initialDelaySeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    periodSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    successThreshold: Type.Optional(Type.Integer({ minimum: 0 })),
    failureThreshold: Type.Optional(Type.Integer({ minimum: 0 })),
    terminationGracePeriodSeconds: Type.Optional(Type.Integer({ format: 'int64' })),
  });

export const container = () =>
  openObject({
    name: Type.String({ 'x-vireo-format': 'dns-label' }),
    // Kubernetes' pod validation requires an image for every container (Argo validates the template so).
    image: Type.String({ minLength: 1 }),
    command: Type.Optional(Type.Array(Type.String())),
    args: Type.Optional(Type.Array(Type.String())),
    workingDir: Type.Optional(Type.String()),
    env: Type.Optional(Type.Array(envVar())),
    envFrom: Type.Optional(Type.Array(freeform())),
    ports: Type.Optional(
      Type.Array(
        openObject({
          containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
          name: Type.Optional(Type.String()),
          protocol: Type.Optional(Type.String()),
          hostPort: Type.Optional(Type.Integer()),
          hostIP: Type.Optional(Type.String()),
        }),
      ),
    ),
    readinessProbe: Type.Optional(probe()),
    livenessProbe: Type.Optional(probe()),
    startupProbe: Type.Optional(probe()),
    resources: Type.Optional(freeform()),
    imagePullPolicy: Type.Optional(Type.String()),
    volumeMounts: Type.Optional(Type.Array(freeform())),
    lifecycle: Type.Optional(freeform()),
    securityContext: Type.Optional(freeform()),
  });

export const podSpec = () =>
  openObject({
    containers: Type.Array(container(), { 'x-vireo-unique-keys': ['name'] }),
    initContainers: Type.Optional(Type.Array(container(), { 'x-vireo-unique-keys': ['name'] })),
    restartPolicy: Type.Optional(Type.String()),
    terminationGracePeriodSeconds: Type.Optional(Type.Integer({ format: 'int64' })),
    serviceAccountName: Type.Optional(Type.String()),
    volumes: Type.Optional(Type.Array(freeform())),
  });

export const podTemplateSpec = () =>
  Type.Object({
    metadata: Type.Optional(templateMeta()),
    spec: Type.Optional(podSpec()),
  });

/** A reference to an object in the same namespace by apiVersion/kind/name. */
export const crossVersionObjectReference = () =>
  Type.Object({
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    name: Type.String(),
  });

export const secretKeySelector = () =>
  Type.Object({ name: Type.String(), key: Type.String(), optional: Type.Optional(Type.Boolean()) });
