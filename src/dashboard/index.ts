/** The dashboard: start it over the local runtime's API (for `vireo dashboard`, `vireo up`, `vireo demo`). */
import { type Dashboard, type DashboardLog, startDashboard } from './server.js';
import { LocalRuntimeSource } from './source.js';

export type { Dashboard, DashboardOptions } from './server.js';
export { startDashboard } from './server.js';
export type { ReleaseSource, ReleaseSummary } from './source.js';
export { LocalRuntimeSource } from './source.js';

export const DEFAULT_DASHBOARD_PORT = 3100;

export interface LocalDashboardOptions {
  /** The local runtime's API URL. */
  apiUrl: string;
  host?: string;
  port?: number;
  token?: string;
  readOnly?: boolean;
  /** The demo's request grid: the Service URL and release; default: found through the runtime. */
  traffic?: { url: string; release: string } | false;
  log?: DashboardLog;
}

export function startLocalDashboard(o: LocalDashboardOptions): Promise<Dashboard> {
  return startDashboard({
    source: new LocalRuntimeSource(o.apiUrl),
    listen: { host: o.host ?? '127.0.0.1', port: o.port ?? DEFAULT_DASHBOARD_PORT },
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.readOnly ? { readOnly: true } : {}),
    ...(o.traffic !== undefined ? { traffic: o.traffic } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
}

/**
 * What to print when the dashboard starts. A generated token is printed once, here, on the terminal
 * (as the URL's fragment, which browsers never send to a server); it never goes to a log.
 */
export function dashboardBanner(d: Dashboard): string {
  const lines = [`dashboard on ${d.url}${d.readOnly ? ' (read-only)' : ''}`];
  if (d.token && !d.readOnly) {
    lines.push(
      d.tokenGenerated
        ? `  actions need this token (generated; pass --token to choose one): ${d.token}`
        : '  actions need the token given with --token',
      d.tokenGenerated ? `  or open ${d.url}/#token=${d.token}` : '',
    );
  }
  return `${lines.filter(Boolean).join('\n')}\n`;
}
