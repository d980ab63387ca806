/** Argo Rollouts dialect: argoproj.io/v1alpha1. */
import type { KindDefinition } from '../kind.js';
import { kinds as analysisKinds } from './analysis.js';
import { kinds as experimentKinds } from './experiment.js';
import { kinds as rolloutKinds } from './rollout.js';

export const argoKinds: KindDefinition[] = [...rolloutKinds, ...analysisKinds, ...experimentKinds];
