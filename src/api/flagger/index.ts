/** Flagger dialect: flagger.app/v1beta1. */
import type { KindDefinition } from '../kind.js';
import { kinds as alertProviderKinds } from './alert-provider.js';
import { kinds as canaryKinds } from './canary.js';
import { kinds as metricTemplateKinds } from './metric-template.js';

export const flaggerKinds: KindDefinition[] = [...canaryKinds, ...metricTemplateKinds, ...alertProviderKinds];
