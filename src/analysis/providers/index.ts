/**
 * The registries of Vireo's real providers (ADR 8), for adapters that talk to real servers. One
 * `register` line (and one import) per provider, so adding one touches one line here.
 */
import { type CheckProvider, type MetricProvider, ProviderRegistry } from '../provider.js';
import { FlaggerBuiltinCheckProvider, FlaggerPrometheusCheckProvider } from './flagger-prometheus.js';
import { localJobProvider } from './job.js';
import { PrometheusProvider } from './prometheus.js';
import { webProvider } from './web.js';

export interface RealProviderOptions {
  /** Query this Prometheus instead of the address in each metric or template (`vireo analyze --address`). */
  prometheusAddress?: string;
  /**
   * The `job` provider. Default: the local platform's (the Job's command runs as a process here); the
   * Kubernetes platform passes `kubeJobProvider({ client })` (kube-job.ts), which makes real Jobs.
   */
  job?: MetricProvider;
}

const promOptions = (o: RealProviderOptions) =>
  o.prometheusAddress ? { addressOverride: o.prometheusAddress } : {};

/** Argo metric providers (`metric.provider.<type>`). */
export function realMetricProviders(o: RealProviderOptions = {}): ProviderRegistry<MetricProvider> {
  const registry = new ProviderRegistry<MetricProvider>();
  registry.register(new PrometheusProvider(promOptions(o)));
  registry.register(webProvider());
  registry.register(o.job ?? localJobProvider());
  return registry;
}

/** Flagger check providers (MetricTemplate `provider.type`, and `builtin`). */
export function realCheckProviders(o: RealProviderOptions = {}): ProviderRegistry<CheckProvider> {
  const registry = new ProviderRegistry<CheckProvider>();
  registry.register(new FlaggerPrometheusCheckProvider(promOptions(o)));
  registry.register(new FlaggerBuiltinCheckProvider(promOptions(o)));
  return registry;
}
