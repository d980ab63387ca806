/**
 * The dashboard in a real browser (Debian's Chromium, installed by the harness when missing, driven by
 * playwright-core; no browser is ever downloaded) against a real local runtime running the demo with
 * real processes: the list, a rollout page, a step advancing live, promote / abort / set image through
 * the page with their effect in the runtime, an automatic rollback, the token and CSRF rules beyond
 * loopback, a lost connection, and 500 releases in the virtual list.
 *
 * `VIREO_DASHBOARD_SCREENSHOTS=1 npx vitest run src/dashboard/dashboard.browser.test.ts` also writes
 * docs/img/dashboard-*.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_NAME, type DemoStart, demoManifests, startDemo } from '../demo/local.js';
import { repoRoot } from '../testing/local-runtime.js';
import { ensureCommand } from '../testing/system.js';
import type { ReleaseView } from '../views/release.js';
import { startLocalDashboard } from './index.js';
import { type Dashboard, startDashboard } from './server.js';
import type { ReleaseSource } from './source.js';

const WAIT = 45_000;
const shots = process.env.VIREO_DASHBOARD_SCREENSHOTS ? path.join(repoRoot, 'docs', 'img') : undefined;

let browser: Browser;
let demo: DemoStart;
const dashboards: Dashboard[] = [];

beforeAll(async () => {
  const executablePath = ensureCommand('chromium', 'chromium');
  browser = await chromium.launch({
    executablePath,
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    timeout: 60_000,
  });
  // Long pauses: the steps move when the test (or the page) says so.
  demo = await startDemo({ pauseSeconds: 120 });
  // Installing Chromium on a fresh machine (apt) may take minutes.
}, 600_000);

afterAll(async () => {
  for (const d of dashboards.splice(0)) await d.close();
  await browser?.close();
  await demo?.close();
}, 60_000);

async function dashboard(o: Parameters<typeof startLocalDashboard>[0]): Promise<Dashboard> {
  const d = await startLocalDashboard(o);
  dashboards.push(d);
  return d;
}

async function newPage(url: string, o: { dark?: boolean; width?: number } = {}): Promise<Page> {
  const page = await browser.newPage({
    viewport: { width: o.width ?? 1200, height: 900 },
    colorScheme: o.dark ? 'dark' : 'light',
  });
  page.setDefaultTimeout(WAIT);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|EventSource/.test(m.text()))
      problems.push(m.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(url);
  return page;
}

const problemsOf = (p: Page) => (p as Page & { problems: string[] }).problems;

/** Polls the runtime until `ok`; the runtime is the truth the page must agree with. */
async function runtimeUntil(ok: (v: ReleaseView) => boolean, what: string, ms = WAIT): Promise<ReleaseView> {
  const end = Date.now() + ms;
  for (;;) {
    const v = demo.runtime.view('default', DEMO_NAME);
    if (ok(v)) return v;
    if (Date.now() > end)
      throw new Error(
        `runtime: gave up waiting for ${what}: ${v.phase} step ${JSON.stringify(v.step)} ${v.message ?? ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function confirmDialog(page: Page, fill: Record<string, string> = {}): Promise<void> {
  const open = page.locator('dialog[open]');
  await open.waitFor();
  // Another dialog may follow this one (the token's): wait for this very one to go.
  const id = await open.getAttribute('data-dialog');
  const dlg = page.locator(`dialog[data-dialog="${id}"]`);
  for (const [name, value] of Object.entries(fill)) await dlg.locator(`input[name="${name}"]`).fill(value);
  await dlg.locator('button[type="submit"]').click();
  await dlg.waitFor({ state: 'detached' });
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `dashboard-${name}.png`), fullPage: true });
}

describe('dashboard in Chromium, on the local demo', () => {
  it('lists the rollout, filters, and opens it', async () => {
    const d = await dashboard({ apiUrl: demo.api.url, port: 0 });
    const page = await newPage(d.url);
    const row = page.locator('[data-testid="release-row"][data-key="default/rollouts-demo"]');
    await row.waitFor();
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: WAIT }).toBe('Healthy');
    expect(await page.locator('#count').textContent()).toBe('1 of 1 release');
    await page.fill('#f-name', 'no-such-release');
    await page.locator('.empty', { hasText: 'Nothing matches.' }).waitFor();
    expect(page.url()).toContain('name=no-such-release');
    await page.selectOption('#f-phase', 'Healthy');
    await page.fill('#f-name', 'demo');
    await row.waitFor();
    await screenshot(page, 'list');
    // Keyboard: Tab reaches the row's link, Enter opens it.
    await row.locator('a').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/r\/default\/rollouts-demo$/);
    await page.locator('#phase', { hasText: 'Healthy' }).waitFor();
    await expect.poll(() => page.locator('[data-testid="version"]').count(), { timeout: WAIT }).toBe(1);
    expect(await page.locator('#traffic-grid').count()).toBe(1);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  }, 120_000);

  it('watches a release live; set image, promote and abort from the page change the runtime', async () => {
    const d = await dashboard({ apiUrl: demo.api.url, port: 0 });
    const page = await newPage(`${d.url}/#/r/default/rollouts-demo`);
    await page.locator('#phase', { hasText: 'Healthy' }).waitFor();

    // Set image through the page's dialog.
    await page.click('#act-set-image');
    await confirmDialog(page, { container: DEMO_NAME, image: 'argoproj/rollouts-demo:green' });
    await page.locator('#action-result', { hasText: 'image updated' }).waitFor();
    // A step advances live: weight 20 % set, then the pause (step 2) is current with time left.
    await page.locator('li[aria-current="step"]', { hasText: 'pause 120s' }).waitFor();
    await page.locator('#split[data-canary="20"]').waitFor();
    await page.locator('#step-note', { hasText: /s left/ }).waitFor();
    const stepBefore = (await runtimeUntil((v) => v.step?.index === 1, 'step 2')).step?.index;
    expect(stepBefore).toBe(1);
    // The request grid shows both colours.
    await page.locator('#traffic-note', { hasText: /green/ }).waitFor();

    // Promote: the runtime moves to 40 %, and so does the page.
    await page.click('#act-promote');
    await confirmDialog(page);
    await page.locator('#action-result', { hasText: "rollout 'rollouts-demo' promoted" }).waitFor();
    await runtimeUntil((v) => (v.step?.index ?? 0) >= 3 && v.actualWeight === 40, 'weight 40 after promote');
    await page.locator('#split[data-canary="40"]').waitFor();
    await page.locator('li[aria-current="step"]', { hasText: 'pause 120s' }).waitFor();
    // The analysis (from step 3) measures; its chart shows the points against the condition.
    await page
      .locator('[data-testid="analysis-run"] svg.chart circle[data-phase="Successful"] >> nth=2')
      .waitFor();
    expect(await page.locator('svg.chart .thr-label').first().textContent()).toBe('> 0.90');
    await screenshot(page, 'canary');
    const dark = await newPage(`${d.url}/#/r/default/rollouts-demo`, { dark: true });
    await dark.locator('#split[data-canary="40"]').waitFor();
    // A full request grid for the picture (about 10 sample requests a second).
    await dark
      .locator('#traffic-note', { hasText: shots ? /last (1\d\d|[6-9]\d) requests/ : /green/ })
      .waitFor();
    await screenshot(dark, 'canary-dark');
    await dark.close();

    // Abort: all traffic back to blue, Degraded, and the action is in the event timeline.
    await page.click('#act-abort');
    await confirmDialog(page);
    await runtimeUntil((v) => v.phase === 'Degraded' && v.actualWeight === 0, 'aborted');
    await page.locator('#phase', { hasText: 'Degraded' }).waitFor();
    await page.locator('#split[data-canary="0"]').waitFor();
    const event = page.locator('[data-testid="event"][data-reason="UserAction"]', {
      hasText: 'abort by dashboard session',
    });
    await event.waitFor();
    const runtimeEvents = demo.runtime
      .view('default', DEMO_NAME)
      .events.filter((e) => e.reason === 'UserAction');
    expect(runtimeEvents.map((e) => e.message.replace(/ by .*/, ''))).toEqual([
      'set image rollouts-demo=argoproj/rollouts-demo:green',
      'promote',
      'abort',
    ]);
    expect(runtimeEvents[0]?.message).toMatch(/by dashboard session [0-9a-f]{8} from 127\.0\.0\.1$/);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  }, 180_000);

  it('shows an automatic rollback: the failed analysis, its measurements against the condition', async () => {
    const d = await dashboard({ apiUrl: demo.api.url, port: 0 });
    const page = await newPage(`${d.url}/#/r/default/rollouts-demo`);
    await page.locator('#phase', { hasText: 'Degraded' }).waitFor();
    const applied = await demo.runtime.apply([
      {
        name: 'demo.yaml',
        text: demoManifests({
          apiUrl: demo.api.url,
          port: 0,
          image: 'argoproj/rollouts-demo:yellow',
          errorRate: 0.5,
          pauseSeconds: 120,
        }),
      },
    ]);
    expect(applied.ok).toBe(true);
    await runtimeUntil(
      (v) => v.step?.index === 1 && v.versions.some((x) => x.images[0]?.endsWith(':yellow')),
      'yellow at its first pause',
    );
    // Past the first pause; the analysis starts at step 3 and fails.
    await demo.runtime.act('default', DEMO_NAME, 'promote');
    await runtimeUntil(
      (v) => v.phase === 'Degraded' && v.analysisRuns[0]?.phase === 'Failed',
      'the automatic abort',
      60_000,
    );
    await page.locator('[data-testid="analysis-run"] .badge[data-phase="Failed"]').first().waitFor();
    await page.locator('#phase', { hasText: 'Degraded' }).waitFor();
    await page.locator('#message', { hasText: 'RolloutAborted' }).waitFor();
    expect(
      await page.locator('[data-testid="analysis-run"] >> nth=0 >> circle[data-phase="Failed"]').count(),
    ).toBeGreaterThanOrEqual(3);
    await page.locator('#split[data-canary="0"]').waitFor();
    await page
      .locator('[data-testid="event"][data-type="Warning"]', { hasText: 'RolloutAborted' })
      .first()
      .waitFor();
    await screenshot(page, 'rollback');
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  }, 180_000);

  it('beyond loopback: actions need the token, CSRF and same origin; read-only has none', async () => {
    const d = await dashboard({ apiUrl: demo.api.url, host: '0.0.0.0', port: 0 });
    expect(d.tokenGenerated).toBe(true);
    const url = `http://127.0.0.1:${d.port}`;
    const page = await newPage(`${url}/#/r/default/rollouts-demo`);
    await page.locator('[data-testid="version"]').first().waitFor();
    expect(await page.locator('#mode').textContent()).toBe('actions need the token');
    const userActions = () =>
      demo.runtime
        .view('default', DEMO_NAME)
        .events.filter((e) => e.reason === 'UserAction')
        .map((e) => e.message.replace(/ by .*/, ''));
    const actionsBefore = userActions().length;
    const before = demo.runtime.view('default', DEMO_NAME);

    // Without the token: the page asks for it; a wrong one is refused and nothing happens.
    await page.click('#act-pause');
    await confirmDialog(page);
    await confirmDialog(page, { token: 'not-the-token' });
    await page.locator('.toast div[data-ok="false"]', { hasText: 'Login failed: wrong token' }).waitFor();
    // Straight API calls from the page: no CSRF header, then a CSRF header without login.
    const statuses = await page.evaluate(async () => {
      const post = (headers: Record<string, string>) =>
        fetch('/api/v1/releases/default/rollouts-demo/pause', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: '{}',
        }).then((r) => r.status);
      const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
      return [
        await post({}),
        await post({ 'x-vireo-csrf': session.csrfToken }),
        await post({ 'x-vireo-csrf': 'forged' }),
      ];
    });
    expect(statuses).toEqual([403, 401, 403]);
    // Another origin (the loopback dashboard, another port) cannot act, with or without credentials.
    const other = await dashboard({ apiUrl: demo.api.url, port: 0 });
    const evil = await newPage(other.url);
    const cross = await evil.evaluate(async (target) => {
      const results: string[] = [];
      for (const init of [
        {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        },
        { method: 'POST', credentials: 'include', mode: 'no-cors', body: '{}' },
      ] as RequestInit[]) {
        try {
          const r = await fetch(`${target}/api/v1/releases/default/rollouts-demo/pause`, init);
          results.push(`status ${r.status}`);
        } catch (e) {
          results.push(`blocked: ${(e as Error).name}`);
        }
      }
      return results;
    }, url);
    expect(cross[0]).toBe('blocked: TypeError');
    // no-cors hides the answer (status 0) or Chromium blocks it; what matters is that nothing happened.
    expect(cross[1]).toMatch(/^(status 0|blocked: TypeError)$/);
    await evil.close();
    expect(demo.runtime.view('default', DEMO_NAME).pauseReasons).toEqual(before.pauseReasons);
    expect(userActions()).toHaveLength(actionsBefore);

    // With the token (as printed: the URL fragment), the same clicks work.
    await page.goto(`${url}/#token=${d.token}`);
    await page.waitForFunction(() => !location.hash.includes('token='));
    expect(page.url()).not.toContain(d.token ?? '');
    await page.locator('#mode', { hasText: /^$/ }).waitFor({ state: 'attached' });
    await page.goto(`${url}/#/r/default/rollouts-demo`);
    await page.locator('[data-testid="version"]').first().waitFor();
    await page.click('#act-pause');
    await confirmDialog(page);
    await page.locator('#action-result', { hasText: "rollout 'rollouts-demo' paused" }).waitFor();
    await page.click('#act-resume');
    await confirmDialog(page);
    await page.locator('#action-result', { hasText: "rollout 'rollouts-demo' resumed" }).waitFor();
    expect(userActions().slice(actionsBefore)).toEqual(['pause', 'resume']);
    await page
      .locator('[data-testid="event"][data-reason="UserAction"]', { hasText: 'resume by dashboard session' })
      .waitFor();

    // Read-only: no actions on the page, and the API refuses them.
    const ro = await dashboard({ apiUrl: demo.api.url, port: 0, readOnly: true });
    const roPage = await newPage(`${ro.url}/#/r/default/rollouts-demo`);
    await roPage.locator('#phase').filter({ hasNotText: '…' }).waitFor();
    expect(await roPage.locator('#sec-actions').isHidden()).toBe(true);
    expect(await roPage.locator('#mode').textContent()).toBe('read-only');
    expect(problemsOf(page)).toEqual([]);
    await roPage.close();
    await page.close();
  }, 180_000);

  it('marks the page stale while the dashboard is gone and comes back by itself', async () => {
    const first = await startLocalDashboard({ apiUrl: demo.api.url, port: 0 });
    const port = first.port;
    const page = await newPage(`${first.url}/#/r/default/rollouts-demo`);
    await page.locator('#conn[data-state="live"]').waitFor();
    await first.close();
    await page.locator('#stale', { hasText: 'Connection lost' }).waitFor();
    expect(await page.locator('body.is-stale').count()).toBe(1);
    const again = await dashboard({ apiUrl: demo.api.url, port });
    expect(again.port).toBe(port);
    await page.locator('#conn[data-state="live"]').waitFor();
    expect(await page.locator('#stale').isHidden()).toBe(true);
    expect(await page.locator('body.is-stale').count()).toBe(0);
    await page.close();
  }, 120_000);
});

describe('dashboard in Chromium, 500 releases', () => {
  it('renders only the rows in view, scrolls to the last, filters, on a narrow window too', async () => {
    const views: ReleaseView[] = Array.from({ length: 500 }, (_, i) => ({
      dialect: i % 5 === 0 ? 'flagger' : 'argo',
      kind: i % 5 === 0 ? 'Canary' : 'Rollout',
      namespace: `team-${String(Math.floor(i / 50)).padStart(2, '0')}`,
      name: `service-${String(i).padStart(3, '0')}`,
      phase: (['Healthy', 'Progressing', 'Paused', 'Degraded'] as const)[i % 4] ?? 'Healthy',
      strategy: i % 5 === 0 ? 'Flagger' : 'Canary',
      step: { index: i % 8, count: 8 },
      setWeight: (i % 5) * 20,
      actualWeight: (i % 5) * 20,
      images: [
        { image: `registry/service-${i}:v1`, roles: ['stable'] },
        { image: `registry/service-${i}:v2`, roles: ['canary'] },
      ],
      replicas: { desired: 3, current: 3, updated: 1, ready: 3, available: 3 },
      revision: 1 + (i % 7),
      createdAt: new Date(Date.now() - i * 60_000).toISOString(),
      versions: [],
      analysisRuns: [],
      events: [],
    }));
    let tick = 0;
    const source: ReleaseSource = {
      list: async () => {
        tick++;
        // One release changes every read: updates must not disturb the rest.
        const v = views[tick % 500];
        if (v) v.revision++;
        return views;
      },
      get: async (ns, name) => views.find((v) => v.namespace === ns && v.name === name)!,
      act: async () => 'ok',
    };
    const d = await startDashboard({
      source,
      listen: { host: '127.0.0.1', port: 0 },
      traffic: false,
      pollMs: 300,
    });
    dashboards.push(d);
    const t0 = Date.now();
    const page = await newPage(d.url);
    await page.locator('#count', { hasText: '500 of 500 releases' }).waitFor();
    const firstPaint = Date.now() - t0;
    await screenshot(page, 'list-500');
    const rendered = await page.locator('[data-testid="release-row"]').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(50);
    // Scroll to the end: the last release is there, still few rows in the page.
    await page.locator('#rows').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.locator('[data-key="team-09/service-499"]').waitFor();
    expect(await page.locator('[data-testid="release-row"]').count()).toBeLessThan(50);
    // Keyboard: arrow keys walk the rows.
    await page.locator('[data-key="team-09/service-499"] a').focus();
    await page.keyboard.press('ArrowUp');
    expect(await page.evaluate(() => document.activeElement?.closest('.row')?.getAttribute('data-key'))).toBe(
      'team-09/service-498',
    );
    // Updates keep row positions (no jump): a row's offset does not change between reads.
    const top = () =>
      page.locator('[data-key="team-09/service-498"]').evaluate((el) => el.getBoundingClientRect().top);
    const before = await top();
    const ticks = tick;
    await expect.poll(async () => tick > ticks + 3, { timeout: WAIT }).toBe(true);
    expect(await top()).toBe(before);
    await page.selectOption('#f-phase', 'Degraded');
    await page.selectOption('#f-namespace', 'team-03');
    await page.locator('#count', { hasText: '13 of 500 releases' }).waitFor();
    await page.setViewportSize({ width: 420, height: 800 });
    expect(await page.locator('.row.head .c-age').isHidden()).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(problemsOf(page)).toEqual([]);
    expect(firstPaint).toBeLessThan(20_000);
    await page.close();
  }, 120_000);
});
