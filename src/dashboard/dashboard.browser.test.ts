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
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_NAME, type DemoStart, demoManifests, startDemo } from '../demo/local.js';
import { repoRoot } from '../testing/local-runtime.js';
import { ensureCommand } from '../testing/system.js';
import type { MeasurementView, ReleaseView, VersionRole } from '../views/release.js';
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
    const page = await newPage(d.url);
    // Time to first render: from the navigation's start to the rows in the page, in the page's clock
    // (loading the page and its modules, the session, the stream's first snapshot, the rows).
    const renderedAt = async () =>
      (await (
        await page.waitForFunction(
          () =>
            document.querySelector('#count')?.textContent === '500 of 500 releases' &&
            document.querySelectorAll('[data-testid="release-row"]').length > 10
              ? performance.now()
              : 0,
          undefined,
          { polling: 'raf' },
        )
      ).jsonValue()) as number;
    // The first load may include transpiling the client from source (once per server); then a reload.
    const coldRender = await renderedAt();
    await page.reload();
    const firstRender = await renderedAt();
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
    // Time to filter: typing into the name filter until the next frame is painted (the list is
    // filtered and rendered in the input's handler), there and back.
    const filterMs = (name: string) =>
      page.evaluate(
        (value) =>
          new Promise<number>((resolve) => {
            const input = document.querySelector('#f-name') as HTMLInputElement;
            const t0 = performance.now();
            input.value = value;
            input.dispatchEvent(new Event('input', { bubbles: true }));
            requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
          }),
        name,
      );
    const narrowing = await filterMs('service-4');
    expect(await page.locator('#count').textContent()).toBe('100 of 500 releases');
    const widening = await filterMs('');
    expect(await page.locator('#count').textContent()).toBe('500 of 500 releases');
    console.log(
      `dashboard, 500 releases: first render ${firstRender.toFixed(0)} ms after navigation (${coldRender.toFixed(0)} ms on the server's first load); name filter to 100 rows ${narrowing.toFixed(1)} ms, back to 500 ${widening.toFixed(1)} ms (to the next frame)`,
    );
    // Generous bounds for a shared 2-CPU machine: they catch a list that is no longer virtual.
    expect(firstRender).toBeLessThan(5000);
    expect(Math.max(narrowing, widening)).toBeLessThan(250);
    await page.selectOption('#f-phase', 'Degraded');
    await page.selectOption('#f-namespace', 'team-03');
    await page.locator('#count', { hasText: '13 of 500 releases' }).waitFor();
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.locator('.row.head .c-age').isHidden()).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------
// Quality (issue 7): keyboard access, contrast in both themes, a narrow window, no layout jump on
// updates, and axe-core's WCAG rules; over a source the test controls, so every state is exact.

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** One clock for the fixtures: the same state reads the same (the server streams only changes). */
const BASE = Date.now();
const at = (offsetMs: number) => new Date(BASE + offsetMs).toISOString();

const LONG_STABLE = 'registry.example.com/platform/checkout-service:v2.14.0-6cf78c66c5';
const LONG_CANARY = 'registry.example.com/platform/checkout-service:v2.15.0-rc.1-9d1e2f3a4b';

function fixture(o: Partial<ReleaseView> & Pick<ReleaseView, 'namespace' | 'name' | 'phase'>): ReleaseView {
  return {
    dialect: 'argo',
    kind: 'Rollout',
    strategy: 'Canary',
    images: [{ image: `${o.name}:v1`, roles: ['stable'] }],
    replicas: { desired: 2, current: 2, updated: 2, ready: 2, available: 2 },
    revision: 1,
    createdAt: at(-7_200_000),
    versions: [],
    analysisRuns: [],
    events: [],
    ...o,
  };
}

const versionOf = (name: string, revision: number, roles: VersionRole[], image: string, desired: number) => ({
  name,
  hash: name.slice(name.lastIndexOf('-') + 1),
  revision,
  roles,
  images: [image],
  status: 'Healthy' as const,
  desired,
  current: desired,
  ready: desired,
  available: desired,
  createdAt: at(-3_600_000),
  pods: [],
});

/** shop/web mid-canary; `moved` is the next state: the values change, the page must not move. */
function webRelease(moved: boolean): ReleaseView {
  const m = (phase: string, value: string | undefined, s: number): MeasurementView => ({
    phase,
    ...(value !== undefined ? { value } : { message: 'connection refused' }),
    startedAt: at(-s * 1000 - 500),
    finishedAt: at(-s * 1000),
  });
  return fixture({
    namespace: 'shop',
    name: 'web',
    phase: moved ? 'Progressing' : 'Paused',
    message: moved ? 'more replicas need to be updated' : 'CanaryPauseStep',
    ...(moved ? {} : { pauseReasons: ['CanaryPauseStep'], pauseEndsAt: at(3_600_000) }),
    step: { index: moved ? 2 : 1, count: 5 },
    steps: [
      { kind: 'setWeight', label: 'weight 20 %' },
      { kind: 'pause', label: 'pause 1h' },
      { kind: 'setWeight', label: 'weight 40 %' },
      { kind: 'analysis', label: 'analysis success-rate' },
      { kind: 'pause', label: 'pause until promoted' },
    ],
    // Moved on: the step sets 40 % while the router still sends 20 % (a note appears).
    setWeight: moved ? 40 : 20,
    actualWeight: 20,
    images: [
      { image: LONG_CANARY, roles: ['canary'] },
      { image: LONG_STABLE, roles: ['stable'] },
    ],
    replicas: {
      desired: 5,
      current: 5,
      updated: moved ? 2 : 1,
      ready: moved ? 4 : 5,
      available: moved ? 4 : 5,
    },
    revision: 3,
    containers: [{ name: 'web', image: LONG_CANARY }],
    versions: [
      versionOf('web-9d1e2f3a4b', 3, ['canary'], LONG_CANARY, moved ? 2 : 1),
      versionOf('web-6cf78c66c5', 2, ['stable'], LONG_STABLE, moved ? 3 : 4),
    ],
    analysisRuns: [
      {
        name: 'web-9d1e2f3a4b-3-2',
        revision: 3,
        kind: 'step',
        phase: 'Running',
        startedAt: at(-60_000),
        metrics: [
          {
            name: 'success-rate',
            phase: 'Running',
            condition: 'result[0] >= 0.95',
            successful: moved ? 3 : 2,
            failed: 1,
            inconclusive: 1,
            errors: 1,
            measurements: [
              m('Successful', '[0.99]', 50),
              m('Failed', '[0.81]', 40),
              m('Inconclusive', '[0.93]', 30),
              m('Error', undefined, 20),
              m('Successful', '[0.97]', 10),
              ...(moved ? [m('Successful', '[0.98]', 1)] : []),
            ],
          },
        ],
      },
      {
        name: 'web-6cf78c66c5-2-4',
        revision: 2,
        kind: 'background',
        phase: 'Successful',
        startedAt: at(-3_600_000),
        metrics: [
          {
            name: 'latency-p99',
            phase: 'Successful',
            condition: 'result < 300',
            successful: 2,
            failed: 0,
            inconclusive: 0,
            errors: 0,
            measurements: [m('Successful', '212', 3_000), m('Successful', '198', 2_900)],
          },
        ],
      },
    ],
    events: [
      {
        at: at(-120_000),
        type: 'Normal',
        reason: 'RolloutUpdated',
        message: 'Rollout updated to revision 3',
      },
      { at: at(-90_000), type: 'Warning', reason: 'MetricFailed', message: 'success-rate measured [0.81]' },
      {
        at: at(-60_000),
        type: 'Normal',
        reason: 'UserAction',
        message: 'pause by dashboard session 1a2b3c4d from 127.0.0.1',
      },
      ...(moved
        ? [
            {
              at: at(-1000),
              type: 'Normal' as const,
              reason: 'RolloutStepCompleted',
              message: 'Rollout step 2/5 completed (pause 1h)',
            },
          ]
        : []),
    ],
  });
}

/** Every phase, both dialects, both strategies. */
const OTHERS: ReleaseView[] = [
  fixture({ namespace: 'shop', name: 'cart', phase: 'Healthy' }),
  fixture({
    dialect: 'flagger',
    kind: 'Canary',
    namespace: 'shop',
    name: 'checkout',
    phase: 'Progressing',
    strategy: 'Flagger',
    message: 'New revision detected, progressing canary analysis.',
    setWeight: 30,
    actualWeight: 30,
    images: [
      { image: 'checkout:v2', roles: ['canary'] },
      { image: 'checkout:v1', roles: ['primary'] },
    ],
    // As a cluster shows it: the checks from the spec, the failed ones from the status, no results.
    analysisRuns: [
      {
        name: 'checkout-5d8f9c7b6',
        revision: 2,
        kind: 'canary analysis',
        phase: 'Running',
        message: '1 failed check (rolls back at 5); Flagger keeps no measurements in the Canary',
        metrics: [
          {
            name: 'request-success-rate',
            phase: 'Unknown',
            condition: 'min 99',
            successful: 0,
            failed: 0,
            inconclusive: 0,
            errors: 0,
            measurements: [],
          },
        ],
      },
    ],
  }),
  fixture({
    namespace: 'payments',
    name: 'ledger',
    phase: 'Degraded',
    message: 'RolloutAborted: metric "error-rate" assessed Failed',
    step: { index: 0, count: 4 },
  }),
  fixture({
    namespace: 'payments',
    name: 'gateway',
    phase: 'Paused',
    strategy: 'BlueGreen',
    images: [
      { image: 'gateway:v8', roles: ['preview'] },
      { image: 'gateway:v7', roles: ['active'] },
    ],
  }),
  fixture({ namespace: 'search', name: 'indexer', phase: 'Unknown' }),
  fixture({ namespace: 'search', name: 'query', phase: 'Healthy' }),
];

describe('dashboard quality in Chromium: keyboard, contrast, narrow window, layout, axe', () => {
  let moved = false;
  const acts: string[] = [];
  const releases = () => [webRelease(moved), ...OTHERS];
  const source: ReleaseSource = {
    list: async () => releases(),
    get: async (ns, name) => {
      const v = releases().find((x) => x.namespace === ns && x.name === name);
      if (!v) throw new Error(`rollout ${ns}/${name} not found`);
      return v;
    },
    act: async (r) => {
      acts.push(`${r.verb}${r.args.full ? ' --full' : ''}`);
      return `rollout '${r.name}' ${r.verb === 'promote' ? 'promoted' : `${r.verb}ed`}`;
    },
  };
  let base = '';
  /** A blank page (no CSP) where screenshots are decoded with a canvas. */
  let scratch: Page;

  beforeAll(async () => {
    const d = await startDashboard({
      source,
      listen: { host: '127.0.0.1', port: 0 },
      traffic: false,
      pollMs: 150,
    });
    dashboards.push(d);
    base = d.url;
    scratch = await browser.newPage();
  });

  afterAll(async () => {
    await scratch?.close();
  });

  /** What has the focus: `#id`, `row NS/NAME` for a list row's link, `tag.class`, or `body`. */
  const focused = (page: Page) =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return 'body';
      const row = el.closest('.row') as HTMLElement | null;
      if (row?.dataset.key) return `row ${row.dataset.key}`;
      if (el.closest('dialog'))
        return `dialog ${el.tagName.toLowerCase()}${el.getAttribute('name') ? `[${el.getAttribute('name')}]` : ''} ${el.textContent ?? ''}`.trim();
      if (el.id) return `#${el.id}`;
      return `${el.tagName.toLowerCase()}${el.classList.length > 0 ? `.${[...el.classList].join('.')}` : ''}`;
    });

  /**
   * How visible the focus is (WCAG 2.4.13's measure): the pixels around the focused element (a list
   * row for its link: the row is what is shown focused) whose colour changes by at least 3:1 between
   * focused and not, against the area of a 2 px perimeter of it. Focus is put back afterwards.
   */
  async function focusIndicator(
    page: Page,
  ): Promise<{ changed: number; perimeter2px: number; what: string }> {
    const what = await focused(page);
    const box = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const r = (el.closest('.row') ?? el).getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    });
    const vp = page.viewportSize() ?? { width: 1200, height: 900 };
    const pad = 8;
    const x = Math.max(0, Math.floor(box.x - pad));
    const y = Math.max(0, Math.floor(box.y - pad));
    const clip = {
      x,
      y,
      width: Math.min(vp.width - x, Math.ceil(box.width + 2 * pad)),
      height: Math.min(vp.height - y, Math.ceil(box.height + 2 * pad)),
    };
    const shot = () => page.screenshot({ clip, animations: 'disabled', caret: 'hide' });
    const on = await shot();
    await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      el.dataset.refocus = '1';
      el.blur();
    });
    const off = await shot();
    await page.evaluate(() => {
      const el = document.querySelector('[data-refocus]') as HTMLElement;
      delete el.dataset.refocus;
      el.focus();
    });
    const changed = await scratch.evaluate(
      async ([a, b]) => {
        const load = (src: string) =>
          new Promise<HTMLImageElement>((resolve, reject) => {
            const img = new Image();
            img.onload = () => resolve(img);
            img.onerror = reject;
            img.src = src;
          });
        const pixels = (img: HTMLImageElement) => {
          const c = document.createElement('canvas');
          c.width = img.width;
          c.height = img.height;
          const g = c.getContext('2d') as CanvasRenderingContext2D;
          g.drawImage(img, 0, 0);
          return g.getImageData(0, 0, c.width, c.height).data;
        };
        const lin = (v: number) => {
          const s = v / 255;
          return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        };
        const pa = pixels(await load(a as string));
        const pb = pixels(await load(b as string));
        let n = 0;
        for (let i = 0; i < pa.length; i += 4) {
          const la = 0.2126 * lin(pa[i] ?? 0) + 0.7152 * lin(pa[i + 1] ?? 0) + 0.0722 * lin(pa[i + 2] ?? 0);
          const lb = 0.2126 * lin(pb[i] ?? 0) + 0.7152 * lin(pb[i + 1] ?? 0) + 0.0722 * lin(pb[i + 2] ?? 0);
          if ((Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05) >= 3) n++;
        }
        return n;
      },
      [`data:image/png;base64,${on.toString('base64')}`, `data:image/png;base64,${off.toString('base64')}`],
    );
    return { changed, perimeter2px: Math.round(2 * 2 * (box.width + box.height)), what };
  }

  async function expectVisibleFocus(page: Page): Promise<void> {
    const f = await focusIndicator(page);
    expect(f.changed, `focus indicator of ${f.what}`).toBeGreaterThanOrEqual(f.perimeter2px);
  }

  /** Presses Tab `n` times and returns what had the focus after each. */
  async function tabs(page: Page, n: number, key = 'Tab'): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      await page.keyboard.press(key);
      out.push(await focused(page));
    }
    return out;
  }

  it('keyboard: Tab order, visible focus, arrows in the list, Enter and Space, the dialog takes and gives back focus', async () => {
    const page = await newPage(base);
    await expect.poll(() => page.locator('[data-testid="release-row"]').count(), { timeout: WAIT }).toBe(7);
    // The list: skip link, brand, the three filters, then the list as one stop (its rows by arrows).
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      order.push(...(await tabs(page, 1)));
      if (i > 0) await expectVisibleFocus(page);
    }
    expect(order).toEqual([
      'a.skip',
      'a.brand',
      '#f-namespace',
      '#f-phase',
      '#f-name',
      'row payments/gateway',
    ]);
    expect(await tabs(page, 1)).not.toEqual(['row payments/ledger']);
    expect(await tabs(page, 1, 'Shift+Tab')).toEqual(['row payments/gateway']);
    expect(await tabs(page, 2, 'ArrowDown')).toEqual(['row payments/ledger', 'row search/indexer']);
    expect(await tabs(page, 1, 'End')).toEqual(['row shop/web']);
    expect(await tabs(page, 1, 'Home')).toEqual(['row payments/gateway']);
    expect(await tabs(page, 1, 'End')).toEqual(['row shop/web']);
    // Leaving the list and coming back lands on the row last used.
    await tabs(page, 1, 'Shift+Tab');
    expect(await tabs(page, 1)).toEqual(['row shop/web']);
    // Space opens a row (as Enter does), and the release page takes the focus at its start.
    await page.keyboard.press('Space');
    await page.waitForURL(/#\/r\/shop\/web$/);
    await page.locator('#phase', { hasText: 'Paused' }).waitFor();
    await page.locator('[data-testid="analysis-run"]').first().waitFor();
    expect(await focused(page)).toBe('#main');

    // The release: back link, then the actions in order, then the event list.
    const walk = await tabs(page, 11);
    expect(walk).toEqual([
      'a.crumb',
      '#act-promote',
      '#act-promote-full',
      '#act-abort',
      '#act-retry',
      '#act-pause',
      '#act-resume',
      '#act-undo',
      '#act-restart',
      '#act-set-image',
      'ol.events',
    ]);
    await expectVisibleFocus(page);
    for (let i = 0; i < 9; i++) await page.keyboard.press('Shift+Tab');
    expect(await focused(page)).toBe('#act-promote');
    await expectVisibleFocus(page);

    // Enter opens the confirmation, which takes the focus; Escape closes it and gives it back.
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    expect(await focused(page)).toBe('dialog button Promote');
    await expectVisibleFocus(page);
    // Focus stays in the dialog.
    for (const f of await tabs(page, 3)) expect(f).toMatch(/^(dialog |body$)/);
    await page.keyboard.press('Escape');
    await page.locator('dialog').waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('#act-promote');
    expect(acts).toEqual([]);
    // Space opens it too; Enter confirms: the action is carried out, the focus is back on the button.
    await page.keyboard.press('Space');
    await page.locator('dialog[open]').waitFor();
    expect(await focused(page)).toBe('dialog button Promote');
    await page.keyboard.press('Enter');
    await page.locator('#action-result', { hasText: "rollout 'web' promoted" }).waitFor();
    expect(acts).toEqual(['promote']);
    expect(await focused(page)).toBe('#act-promote');

    // A dangerous action's dialog starts on Cancel: Enter twice does not abort.
    await page.focus('#act-abort');
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    expect(await focused(page)).toBe('dialog button Cancel');
    await page.keyboard.press('Enter');
    await page.locator('dialog').waitFor({ state: 'detached' });
    expect(acts).toEqual(['promote']);
    expect(await focused(page)).toBe('#act-abort');
    // A dialog with fields starts on the first one.
    await page.focus('#act-set-image');
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    expect(await focused(page)).toBe('dialog input[container]');
    await page.keyboard.press('Escape');
    await page.locator('dialog').waitFor({ state: 'detached' });

    // The skip link moves the focus to the content and stays on this page.
    await page.focus('a.brand');
    await page.keyboard.press('Shift+Tab');
    expect(await focused(page)).toBe('a.skip');
    await expectVisibleFocus(page);
    await page.keyboard.press('Enter');
    expect(await focused(page)).toBe('#main');
    expect(page.url()).toMatch(/#\/r\/shop\/web$/);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  }, 120_000);

  interface ContrastSample {
    category: string;
    text: string;
    ratio: number;
    need: number;
  }

  /** The WCAG contrast ratio of every visible piece of text under `scope` against what is behind it. */
  const contrast = (page: Page, scope = 'body') =>
    page.evaluate((scopeSelector): ContrastSample[] => {
      const parse = (c: string): number[] | undefined => {
        const m = /rgba?\(([^)]+)\)/.exec(c);
        if (!m) return undefined;
        const p = (m[1] ?? '')
          .split(/[\s,/]+/)
          .filter(Boolean)
          .map(Number);
        return [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0, p[3] ?? 1];
      };
      const over = (top: number[], below: number[]) => {
        const a = top[3] ?? 1;
        return [0, 1, 2].map((i) => (top[i] ?? 0) * a + (below[i] ?? 0) * (1 - a)).concat(1);
      };
      const lin = (v: number) => {
        const s = v / 255;
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      const lum = (c: number[]) =>
        0.2126 * lin(c[0] ?? 0) + 0.7152 * lin(c[1] ?? 0) + 0.0722 * lin(c[2] ?? 0);
      const behind = (el: Element): number[] => {
        const layers: number[][] = [];
        for (let e: Element | null = el; e; e = e.parentElement) {
          const c = parse(getComputedStyle(e).backgroundColor);
          if (c && (c[3] ?? 0) > 0) {
            layers.push(c);
            if ((c[3] ?? 0) >= 1) break;
          }
        }
        let bg = [255, 255, 255, 1];
        for (const l of layers.reverse()) bg = over(l, bg);
        return bg;
      };
      const probe = (v: string) => {
        const s = document.createElement('span');
        s.style.color = `var(${v})`;
        document.body.append(s);
        const c = getComputedStyle(s).color;
        s.remove();
        return c;
      };
      const muted = probe('--muted');
      const fg = probe('--fg');
      const out: ContrastSample[] = [];
      const sample = (el: Element, color: string, text: string) => {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || r.right <= 0 || r.bottom <= 0) return;
        const st = getComputedStyle(el);
        if (st.visibility !== 'visible') return;
        let opacity = 1;
        for (let e: Element | null = el; e; e = e.parentElement)
          opacity *= Number(getComputedStyle(e).opacity);
        const bg = behind(el);
        const c = parse(color) ?? [0, 0, 0, 1];
        const shown = over([c[0] ?? 0, c[1] ?? 0, c[2] ?? 0, (c[3] ?? 1) * opacity], bg);
        const [hi, lo] = [lum(shown), lum(bg)].sort((a, b) => b - a);
        const size = Number.parseFloat(st.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
        const category = el.closest('.badge')
          ? 'phase badges'
          : el.closest('button')
            ? 'buttons'
            : el.closest('a')
              ? 'links'
              : el.closest('.role')
                ? 'version roles'
                : el.closest('.split')
                  ? 'traffic split'
                  : color === muted
                    ? 'muted text'
                    : color === fg
                      ? 'body text'
                      : 'coloured text';
        out.push({
          category,
          text: text.trim().slice(0, 40),
          ratio: Math.round((((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05)) * 100) / 100,
          need: large ? 3 : 4.5,
        });
      };
      const root = document.querySelector(scopeSelector) ?? document.body;
      for (const el of root.querySelectorAll('*')) {
        if (el.closest(':disabled, [aria-disabled="true"], option, script, style, title, noscript')) continue;
        if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) {
          if (el.value) sample(el, getComputedStyle(el).color, el.value);
          else if (el instanceof HTMLInputElement && el.placeholder)
            sample(el, getComputedStyle(el, '::placeholder').color, el.placeholder);
          continue;
        }
        const own = [...el.childNodes]
          .filter((n) => n.nodeType === Node.TEXT_NODE)
          .map((n) => n.textContent ?? '')
          .join('');
        if (own.trim() === '') continue;
        sample(el, el instanceof SVGElement ? getComputedStyle(el).fill : getComputedStyle(el).color, own);
      }
      return out;
    }, scope);

  it('readable in light and dark: every text has WCAG AA contrast against its background', async () => {
    const report: string[] = [];
    for (const dark of [false, true]) {
      const samples: ContrastSample[] = [];
      const page = await newPage(base, { dark });
      await expect.poll(() => page.locator('[data-testid="release-row"]').count(), { timeout: WAIT }).toBe(7);
      expect(await page.locator('.badge').allTextContents()).toEqual(
        expect.arrayContaining(['Healthy', 'Progressing', 'Paused', 'Degraded', 'Unknown']),
      );
      await page.fill('#f-name', 'e');
      samples.push(...(await contrast(page)));
      await page.goto(`${base}/#/r/shop/web`);
      await page.locator('#phase', { hasText: 'Paused' }).waitFor();
      await page.locator('[data-testid="analysis-run"]').nth(1).waitFor();
      samples.push(...(await contrast(page)));
      // The confirmation dialog on its own (the page behind it is dimmed on purpose), then the result.
      await page.focus('#act-promote');
      await page.keyboard.press('Enter');
      await page.locator('dialog[open]').waitFor();
      samples.push(...(await contrast(page, 'dialog[open]')));
      if (dark) await expectVisibleFocus(page);
      await page.keyboard.press('Enter');
      await page.locator('.toast div').first().waitFor();
      samples.push(...(await contrast(page, '#toast')), ...(await contrast(page, '#action-result')));
      const failing = samples.filter((s) => s.ratio < s.need);
      expect(failing, `${dark ? 'dark' : 'light'} theme`).toEqual([]);
      const worst = new Map<string, ContrastSample>();
      for (const s of samples)
        if (!worst.has(s.category) || s.ratio < (worst.get(s.category)?.ratio ?? 99))
          worst.set(s.category, s);
      for (const want of ['body text', 'muted text', 'links', 'buttons', 'phase badges'])
        expect(worst.has(want)).toBe(true);
      report.push(
        `${dark ? 'dark' : 'light'}: ${[...worst]
          .sort()
          .map(([c, s]) => `${c} ${s.ratio.toFixed(2)} ("${s.text}")`)
          .join(', ')} [${samples.length} texts]`,
      );
      expect(problemsOf(page)).toEqual([]);
      await page.close();
    }
    console.log(`dashboard contrast, lowest ratio per kind of text:\n  ${report.join('\n  ')}`);
  }, 120_000);

  /** Where the list's rows or the release page's parts are (document coordinates). */
  const layout = (page: Page) =>
    page.evaluate(() =>
      [
        ...document.querySelectorAll(
          'main > *, main section, main .grid2, [data-testid="release-row"], .row.head > *',
        ),
      ].map((el) => {
        const r = el.getBoundingClientRect();
        const name = (el as HTMLElement).dataset.key ?? (el.id || el.className || el.tagName);
        return `${name} @${Math.round(r.top + window.scrollY)},${Math.round(r.left)}`;
      }),
    );

  it('no layout jump: a live update changes values, not where the rows and sections are', async () => {
    moved = false;
    const page = await newPage(base);
    try {
      for (const width of [1200, 375]) {
        await page.setViewportSize({ width, height: 900 });
        await page.goto(`${base}/#/`);
        const web = page.locator('[data-key="shop/web"] .badge');
        await web.waitFor();
        await page.waitForFunction(
          (m) => document.querySelector('[data-key="shop/web"] .badge')?.textContent === m,
          moved ? 'Progressing' : 'Paused',
        );
        const listBefore = await layout(page);
        moved = !moved;
        await page.waitForFunction(
          (m) => document.querySelector('[data-key="shop/web"] .badge')?.textContent === m,
          moved ? 'Progressing' : 'Paused',
        );
        expect(await layout(page), `the list at ${width} px`).toEqual(listBefore);

        await page.goto(`${base}/#/r/shop/web`);
        const settled = (m: boolean) =>
          page.waitForFunction(
            (x) =>
              document.querySelector('#phase')?.textContent === (x ? 'Progressing' : 'Paused') &&
              document.querySelectorAll('[data-testid="event"]').length === (x ? 4 : 3),
            m,
          );
        await settled(moved);
        await page.evaluate(() => window.scrollTo(0, 0));
        const pageBefore = await layout(page);
        moved = !moved;
        await settled(moved);
        expect(await layout(page), `the release at ${width} px`).toEqual(pageBefore);
        expect(await page.evaluate(() => window.scrollY)).toBe(0);
      }
      expect(problemsOf(page)).toEqual([]);
    } finally {
      moved = false;
      await page.close();
    }
  }, 120_000);

  it('a narrow window (375 px): no sideways scrolling, every column and action in reach', async () => {
    const page = await newPage(base, { width: 375 });
    const noSideways = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    await expect.poll(() => page.locator('[data-testid="release-row"]').count(), { timeout: WAIT }).toBe(7);
    expect(await noSideways()).toBe(true);
    // Each shown cell fits in its row, and its content in the cell (names and namespaces may end in
    // an ellipsis, with the full name a link away); at this width and a wide one.
    const cut = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('[data-testid="release-row"], .row.head')].flatMap((row) => {
          const right =
            row.getBoundingClientRect().right - Number.parseFloat(getComputedStyle(row).paddingRight);
          return [...row.children]
            .filter(
              (c) =>
                getComputedStyle(c).display !== 'none' &&
                (c.getBoundingClientRect().right > right + 0.5 ||
                  (!/c-name|c-ns/.test(c.className) && c.scrollWidth > c.clientWidth)),
            )
            .map((c) => `${(row as HTMLElement).dataset.key ?? 'head'} ${c.className}`);
        }),
      );
    expect(await cut()).toEqual([]);
    await page.setViewportSize({ width: 1200, height: 900 });
    expect(await cut()).toEqual([]);
    await page.setViewportSize({ width: 375, height: 900 });
    // The release page, with long image names: still no sideways scrolling; every action reachable.
    await page.goto(`${base}/#/r/shop/web`);
    await page.locator('[data-testid="analysis-run"]').nth(1).waitFor();
    expect(await noSideways()).toBe(true);
    for (const id of [
      'promote',
      'promote-full',
      'abort',
      'retry',
      'pause',
      'resume',
      'undo',
      'restart',
      'set-image',
    ]) {
      const b = page.locator(`#act-${id}`);
      await b.scrollIntoViewIfNeeded();
      const box = await b.boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= 375, `#act-${id} inside the window`).toBe(true);
    }
    await page.click('#act-set-image');
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    const d = await dialog.boundingBox();
    expect(d && d.x >= 0 && d.x + d.width <= 375).toBe(true);
    await page.keyboard.press('Escape');
    // A Flagger Canary: the same page, its actions off with the reason.
    await page.goto(`${base}/#/r/shop/checkout`);
    await page.locator('#phase', { hasText: 'Progressing' }).waitFor();
    expect(await noSideways()).toBe(true);
    expect(await page.locator('#sec-actions button:enabled').count()).toBe(0);
    expect(await page.locator('#action-result').textContent()).toMatch(/Flagger Canary/);
    // Checks without results: the note instead of an empty chart.
    const run = page.locator('[data-testid="analysis-run"]', { hasText: '1 failed check (rolls back at 5)' });
    await run.locator('.metric', { hasText: 'No measurements here.' }).waitFor();
    expect(await run.locator('svg.chart').count()).toBe(0);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('axe-core finds no WCAG 2.x A/AA violation on the list, a rollout, a canary and the dialog', async () => {
    const found: string[] = [];
    for (const dark of [false, true]) {
      const page = await newPage(base, { dark });
      const check = async (what: string) => {
        await page.evaluate(AXE_SOURCE);
        const violations = await page.evaluate(async () => {
          const axe = (
            window as unknown as {
              axe: {
                run: (
                  ctx: Document,
                  o: unknown,
                ) => Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }>;
              };
            }
          ).axe;
          const r = await axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
          });
          return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
        });
        found.push(...violations.map((v) => `${dark ? 'dark' : 'light'} ${what}: ${v}`));
      };
      await expect.poll(() => page.locator('[data-testid="release-row"]').count(), { timeout: WAIT }).toBe(7);
      await check('list');
      await page.goto(`${base}/#/r/shop/web`);
      await page.locator('[data-testid="analysis-run"]').nth(1).waitFor();
      await check('rollout');
      await page.click('#act-undo');
      await page.locator('dialog[open]').waitFor();
      await check('dialog');
      await page.keyboard.press('Escape');
      await page.goto(`${base}/#/r/shop/checkout`);
      await page.locator('#phase', { hasText: 'Progressing' }).waitFor();
      await check('canary');
      await page.close();
    }
    expect(found).toEqual([]);
  }, 120_000);
});
