import type { KindDefinition } from '../kind.js';

export const kinds: KindDefinition[] = [];
