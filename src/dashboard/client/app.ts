/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard in the browser: plain DOM, no framework. Two pages (hash routes): the list of releases
 * (a virtual list: only the rows in view exist, so 500 releases scroll smoothly) and one release (steps,
 * traffic split, the demo's request grid, versions, analysis runs with charts, events, actions).
 * Data arrives by server-sent events; a lost connection marks the page stale until it is back.
 * Everything is written with textContent / attributes, never as HTML.
 */
import type {
  AnalysisRunView,
  MetricRunView,
  ReleaseEventView,
  ReleaseView,
  VersionView,
} from '../../views/release.js';
import type { ReleaseSummary } from '../source.js';
import {
  chartModel,
  cssColor,
  type Filters,
  filterReleases,
  formatAge,
  formatLeft,
  listHash,
  PHASES,
  parseRoute,
  releaseHash,
  stepStates,
  visibleRange,
} from './logic.js';

interface SessionInfo {
  csrfToken: string;
  tokenRequired: boolean;
  authenticated: boolean;
  readOnly: boolean;
  traffic: { release: string } | null;
}

type Child = Node | string | null | undefined | false;
type Props = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag: string, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const main = () => $('main');

let session: SessionInfo = {
  csrfToken: '',
  tokenRequired: false,
  authenticated: true,
  readOnly: true,
  traffic: null,
};

async function loadSession(): Promise<void> {
  const r = await fetch('/api/v1/session', { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`session: HTTP ${r.status}`);
  session = (await r.json()) as SessionInfo;
  $('mode').textContent = session.readOnly
    ? 'read-only'
    : session.tokenRequired && !session.authenticated
      ? 'actions need the token'
      : '';
}

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-vireo-csrf': session.csrfToken },
    body: JSON.stringify(body),
  });
  let parsed: Record<string, unknown> = {};
  try {
    parsed = (await r.json()) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: r.status, body: parsed };
}

function toast(text: string, ok: boolean): void {
  const box = $('toast');
  const item = h('div', { 'data-ok': String(ok) }, text);
  box.append(item);
  while (box.childElementCount > 3) box.firstElementChild?.remove();
  setTimeout(() => item.remove(), ok ? 5000 : 9000);
}

/* ---------- live connection ---------- */

let lastFresh = 0;

function setConnection(state: 'connecting' | 'live' | 'stale', detail = ''): void {
  const conn = $('conn');
  conn.dataset.state = state;
  conn.textContent = state === 'live' ? 'live' : state === 'stale' ? 'disconnected' : 'connecting…';
  const banner = $('stale');
  document.body.classList.toggle('is-stale', state === 'stale');
  if (state === 'stale') {
    const since = lastFresh ? ` Last update ${new Date(lastFresh).toLocaleTimeString()}.` : '';
    banner.textContent = `Connection lost: what you see may be out of date.${since} Reconnecting…${detail ? ` (${detail})` : ''}`;
    banner.hidden = false;
  } else if (state === 'live') {
    banner.hidden = true;
    banner.textContent = '';
  }
}

/** An EventSource that comes back after any failure (EventSource gives up after an HTTP error). */
class Live {
  private es: EventSource | undefined;
  private closed = false;
  private retryMs = 1000;
  private timer: number | undefined;

  constructor(
    private readonly url: string,
    private readonly handlers: Record<string, (data: unknown) => void>,
    private readonly track = true,
  ) {
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const es = new EventSource(this.url);
    this.es = es;
    for (const [name, fn] of Object.entries(this.handlers))
      es.addEventListener(name, (e) => {
        this.retryMs = 1000;
        let data: unknown;
        try {
          data = JSON.parse((e as MessageEvent<string>).data);
        } catch {
          return;
        }
        if (this.track) {
          if ((data as { type?: string }).type === 'stale') {
            setConnection('stale', String((data as { message?: string }).message ?? ''));
          } else {
            lastFresh = Date.now();
            setConnection('live');
          }
        }
        fn(data);
      });
    es.addEventListener('error', () => {
      if (this.closed) return;
      if (this.track) setConnection('stale');
      if (es.readyState === EventSource.CLOSED) {
        this.timer = window.setTimeout(() => this.open(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 10_000);
      }
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.es?.close();
  }
}

/* ---------- dialogs and actions ---------- */

interface Field {
  name: string;
  label: string;
  value: string;
  type?: string;
  hint?: string;
}

let dialogs = 0;

/** A modal dialog asking to confirm; resolves with the fields' values, or undefined when cancelled. */
function ask(title: string, text: string, confirm: string, fields: Field[] = [], danger = false) {
  return new Promise<Record<string, string> | undefined>((resolve) => {
    // Focus goes back where it was (the button that asked) when the dialog closes, whichever way.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
    const inputs = fields.map((f) =>
      h('input', {
        name: f.name,
        value: f.value,
        type: f.type ?? 'text',
        required: true,
        autocomplete: 'off',
      }),
    );
    const cancel = h('button', { type: 'button', value: 'cancel' }, 'Cancel');
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, confirm);
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'dlg-title' }, title),
      h('p', { id: 'dlg-text' }, text),
      ...fields.map((f, i) => h('label', {}, f.label, inputs[i], f.hint ? h('span', {}, f.hint) : null)),
      h('div', { class: 'buttons' }, cancel, ok),
    );
    const dlg = h(
      'dialog',
      { 'aria-labelledby': 'dlg-title', 'aria-describedby': 'dlg-text', 'data-dialog': String(++dialogs) },
      form,
    );
    let done = false;
    const finish = (v: Record<string, string> | undefined) => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      if (opener?.isConnected) opener.focus();
      resolve(v);
    };
    cancel.addEventListener('click', () => finish(undefined));
    dlg.addEventListener('cancel', () => finish(undefined));
    dlg.addEventListener('close', () => finish(undefined));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      finish(Object.fromEntries(fields.map((f, i) => [f.name, inputs[i]?.value ?? ''])));
    });
    document.body.append(dlg);
    dlg.showModal();
    // The first field, else Cancel for a dangerous action (a second Enter must not abort), else confirm.
    (inputs[0] ?? (danger ? cancel : ok)).focus();
  });
}

async function login(): Promise<boolean> {
  const v = await ask(
    'Log in',
    'Actions on this dashboard need its token (printed when it started).',
    'Log in',
    [{ name: 'token', label: 'Token', value: '', type: 'password' }],
  );
  if (!v) return false;
  const r = await post('/api/v1/login', { token: v.token });
  if (r.status !== 200) {
    toast(`Login failed: ${String(r.body.error ?? r.status)}`, false);
    return false;
  }
  await loadSession();
  return true;
}

interface ActionDef {
  id: string;
  label: string;
  verb: string;
  body?: Record<string, unknown>;
  confirm: (v: ReleaseView) => string;
  danger?: boolean;
  fields?: (v: ReleaseView) => Field[];
  toBody?: (values: Record<string, string>, v: ReleaseView) => Record<string, unknown>;
}

const ACTION_DEFS: ActionDef[] = [
  { id: 'promote', label: 'Promote', verb: 'promote', confirm: (v) => `Promote ${v.name} to its next step?` },
  {
    id: 'promote-full',
    label: 'Promote full',
    verb: 'promote',
    body: { full: true },
    confirm: (v) => `Promote ${v.name} fully, skipping the remaining steps and analyses?`,
  },
  {
    id: 'abort',
    label: 'Abort',
    verb: 'abort',
    danger: true,
    confirm: (v) => `Abort the release of ${v.name}? All traffic goes back to the stable version.`,
  },
  { id: 'retry', label: 'Retry', verb: 'retry', confirm: (v) => `Retry the aborted release of ${v.name}?` },
  { id: 'pause', label: 'Pause', verb: 'pause', confirm: (v) => `Pause ${v.name}?` },
  { id: 'resume', label: 'Resume', verb: 'resume', confirm: (v) => `Resume ${v.name}?` },
  {
    id: 'undo',
    label: 'Undo',
    verb: 'undo',
    danger: true,
    confirm: (v) => `Roll ${v.name} back to an earlier revision?`,
    fields: () => [
      { name: 'toRevision', label: 'To revision', value: '0', type: 'number', hint: '0: the previous one' },
    ],
    toBody: (x) => ({ toRevision: Math.max(0, Math.floor(Number(x.toRevision) || 0)) }),
  },
  {
    id: 'restart',
    label: 'Restart',
    verb: 'restart',
    confirm: (v) => `Restart the pods of ${v.name}, one version at a time?`,
  },
  {
    id: 'set-image',
    label: 'Set image',
    verb: 'set-image',
    confirm: (v) => `Release a new image for ${v.name}:`,
    fields: (v) => {
      const c = v.containers?.[0];
      return [
        { name: 'container', label: 'Container', value: c?.name ?? v.name },
        { name: 'image', label: 'Image', value: c?.image ?? '' },
      ];
    },
    toBody: (x) => ({ container: x.container?.trim(), image: x.image?.trim() }),
  },
];

async function runAction(def: ActionDef, view: ReleaseView, result: HTMLElement): Promise<void> {
  if (session.readOnly) return;
  const values = await ask(
    def.label,
    def.confirm(view),
    def.label,
    def.fields ? def.fields(view) : [],
    def.danger === true,
  );
  if (!values) return;
  if (session.tokenRequired && !session.authenticated && !(await login())) return;
  const url = `/api/v1/releases/${encodeURIComponent(view.namespace)}/${encodeURIComponent(view.name)}/${def.verb}`;
  const body = { ...(def.body ?? {}), ...(def.toBody ? def.toBody(values, view) : {}) };
  result.dataset.ok = 'true';
  result.textContent = `${def.label}…`;
  let r = await post(url, body);
  if (r.status === 403 && /CSRF|session/.test(String(r.body.error))) {
    // The dashboard restarted (sessions are in memory): get a new session and try once more.
    await loadSession();
    if (session.tokenRequired && !session.authenticated && !(await login())) return;
    r = await post(url, body);
  } else if (r.status === 401 && (await login())) {
    r = await post(url, body);
  }
  const ok = r.status === 200;
  const text = ok
    ? String(r.body.message ?? 'done')
    : `${def.label} failed: ${String(r.body.error ?? r.status)}`;
  result.dataset.ok = String(ok);
  result.textContent = text;
  toast(text, ok);
}

/* ---------- the list ---------- */

const ROW = 40;

function listPage(filters: Filters): () => void {
  const all = new Map<string, ReleaseSummary>();
  let rows: ReleaseSummary[] = [];
  let loaded = false;
  const nsSelect = h(
    'select',
    { id: 'f-namespace', 'aria-label': 'Namespace' },
    h('option', { value: '' }, 'all'),
  );
  const phaseSelect = h(
    'select',
    { id: 'f-phase', 'aria-label': 'Phase' },
    h('option', { value: '' }, 'all'),
    ...PHASES.map((p) => h('option', { value: p }, p)),
  );
  const nameInput = h('input', {
    id: 'f-name',
    type: 'search',
    placeholder: 'name contains…',
    value: filters.name,
    'aria-label': 'Name contains',
  });
  phaseSelect.value = filters.phase;
  const count = h('span', { class: 'count num', role: 'status', 'aria-live': 'polite', id: 'count' });
  const spacer = h('div', { class: 'spacer' });
  const scroller = h('div', {
    class: 'scroller',
    role: 'rowgroup',
    id: 'rows',
    tabindex: '-1',
  });
  scroller.append(spacer);
  const table = h(
    'div',
    { class: 'table', role: 'table', 'aria-label': 'Rollouts and canaries', 'aria-rowcount': '1' },
    h(
      'div',
      { class: 'row head', role: 'row', 'aria-rowindex': '1' },
      ...['Name', 'Namespace', 'Phase', 'Strategy', 'Step', 'Weight', 'Rev', 'Age'].map((t) =>
        h(
          'span',
          {
            role: 'columnheader',
            class: `c-${t === 'Rev' ? 'rev' : t === 'Namespace' ? 'ns' : t.toLowerCase()}`,
          },
          t,
        ),
      ),
    ),
    scroller,
  );
  const m = main();
  m.replaceChildren(
    h('h1', {}, 'Releases'),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'f-namespace' }, 'Namespace', nsSelect),
      h('label', { for: 'f-phase' }, 'Phase', phaseSelect),
      h('label', { for: 'f-name' }, 'Name', nameInput),
      count,
    ),
    table,
  );

  const setFilters = () => {
    filters = { namespace: nsSelect.value, phase: phaseSelect.value, name: nameInput.value };
    history.replaceState(null, '', listHash(filters));
    refilter();
  };
  nsSelect.addEventListener('change', setFilters);
  phaseSelect.addEventListener('change', setFilters);
  nameInput.addEventListener('input', setFilters);

  const pool = new Map<string, HTMLElement>();
  /** The row whose link is in the Tab order: the list is one Tab stop, arrows move inside it. */
  let activeKey: string | undefined;
  const cell = (cls: string, ...c: Child[]) => h('span', { role: 'cell', class: cls }, ...c);
  const rowOf = (r: ReleaseSummary, index: number, now: number): HTMLElement => {
    // A weight only means something while there is a canary (or while traffic is still on one).
    const weight =
      !r.canaryImage && !r.actualWeight
        ? ''
        : r.actualWeight !== undefined
          ? `${r.actualWeight} %${r.setWeight !== undefined && r.setWeight !== r.actualWeight ? ` → ${r.setWeight}` : ''}`
          : r.setWeight !== undefined
            ? `${r.setWeight} %`
            : '';
    return h(
      'div',
      {
        class: 'row',
        role: 'row',
        'aria-rowindex': String(index + 2),
        'data-key': r.key,
        'data-testid': 'release-row',
      },
      cell(
        'c-name',
        h(
          'a',
          { class: 'name', href: releaseHash(r.namespace, r.name), title: r.message ?? '', tabindex: '-1' },
          r.name,
        ),
      ),
      cell('c-ns', r.namespace),
      cell('c-phase', h('span', { class: 'badge', 'data-phase': r.phase }, r.phase)),
      cell('c-strategy', r.strategy),
      cell('c-step num', r.step ? `${Math.min(r.step.index, r.step.count)}/${r.step.count}` : ''),
      cell('c-weight num', weight),
      cell('c-rev num', String(r.revision)),
      cell('c-age num', formatAge(r.createdAt, now)),
    );
  };

  const render = () => {
    const now = Date.now();
    table.setAttribute('aria-rowcount', String(rows.length + 1));
    spacer.style.height = `${rows.length * ROW}px`;
    const { start, end } = visibleRange(scroller.scrollTop, scroller.clientHeight, ROW, rows.length);
    const focusedKey = (document.activeElement?.closest('.row') as HTMLElement | null)?.dataset.key;
    const keep = new Set<string>();
    for (let i = start; i < end; i++) {
      const r = rows[i];
      if (!r) continue;
      const sig = `${i}|${JSON.stringify(r)}|${formatAge(r.createdAt, now)}`;
      keep.add(r.key);
      const old = pool.get(r.key);
      if (old && old.dataset.sig === sig) continue;
      const el = rowOf(r, i, now);
      el.dataset.sig = sig;
      el.style.transform = `translateY(${i * ROW}px)`;
      if (old) old.replaceWith(el);
      else scroller.append(el);
      pool.set(r.key, el);
      if (focusedKey === r.key) el.querySelector('a')?.focus({ preventScroll: true });
    }
    for (const [k, el] of pool)
      if (!keep.has(k)) {
        el.remove();
        pool.delete(k);
      }
    // Rows stay in the page in list order (what a screen reader reads); moving them drops the focus.
    const want = rows.slice(start, end).flatMap((r) => pool.get(r.key) ?? []);
    const have = [...scroller.children].filter((c) => pool.get((c as HTMLElement).dataset.key ?? '') === c);
    if (want.some((el, i) => have[i] !== el)) {
      scroller.append(...want);
      if (focusedKey) pool.get(focusedKey)?.querySelector('a')?.focus({ preventScroll: true });
    }
    setTabStop(start, end);
    count.textContent = loaded
      ? `${rows.length} of ${all.size} release${all.size === 1 ? '' : 's'}`
      : 'loading…';
    if (loaded && rows.length === 0 && !scroller.querySelector('.empty'))
      scroller.append(
        h(
          'div',
          { class: 'empty' },
          all.size === 0
            ? 'No rollouts or canaries yet: apply one with vireo apply -f FILE.'
            : 'Nothing matches.',
        ),
      );
    if (rows.length > 0) scroller.querySelector('.empty')?.remove();
  };

  const setTabStop = (start: number, end: number) => {
    const first = rows[Math.min(end - 1, Math.max(start, Math.floor(scroller.scrollTop / ROW)))]?.key;
    const stop = pool.get(activeKey ?? '') ?? pool.get(first ?? '');
    for (const el of pool.values()) {
      const a = el.querySelector('a');
      if (a) a.tabIndex = el === stop ? 0 : -1;
    }
  };
  scroller.addEventListener('focusin', (e) => {
    const key = ((e.target as HTMLElement).closest('.row') as HTMLElement | null)?.dataset.key;
    if (!key || key === activeKey) return;
    activeKey = key;
    const { start, end } = visibleRange(scroller.scrollTop, scroller.clientHeight, ROW, rows.length);
    setTabStop(start, end);
  });

  const refilter = () => {
    rows = filterReleases([...all.values()], filters);
    const namespaces = [...new Set([...all.values()].map((r) => r.namespace))].sort();
    const have = [...nsSelect.options].slice(1).map((o) => o.value);
    if (
      namespaces.join('\n') !== have.join('\n') ||
      (filters.namespace && !namespaces.includes(filters.namespace))
    ) {
      const want =
        filters.namespace && !namespaces.includes(filters.namespace)
          ? [...namespaces, filters.namespace]
          : namespaces;
      nsSelect.replaceChildren(
        h('option', { value: '' }, 'all'),
        ...want.map((n) => h('option', { value: n }, n)),
      );
    }
    nsSelect.value = filters.namespace;
    render();
  };

  scroller.addEventListener('scroll', () => render(), { passive: true });
  const onResize = () => render();
  window.addEventListener('resize', onResize);
  // Arrow keys move between rows (rendering the next one when it is out of view).
  scroller.addEventListener('keydown', (e) => {
    const row = (e.target as HTMLElement).closest('.row') as HTMLElement | null;
    if (!row) return;
    const i = rows.findIndex((r) => r.key === row.dataset.key);
    let next = i;
    const page = Math.max(1, Math.floor(scroller.clientHeight / ROW) - 1);
    if (e.key === 'ArrowDown') next = i + 1;
    else if (e.key === 'ArrowUp') next = i - 1;
    else if (e.key === 'PageDown') next = i + page;
    else if (e.key === 'PageUp') next = i - page;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = rows.length - 1;
    else if (e.key === ' ' && !e.repeat) {
      // Space opens the row as Enter does (the list is the page's only scroller of rows).
      e.preventDefault();
      const r = rows[i];
      if (r) location.hash = releaseHash(r.namespace, r.name);
      return;
    } else return;
    e.preventDefault();
    next = Math.max(0, Math.min(rows.length - 1, next));
    const top = next * ROW;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ROW > scroller.scrollTop + scroller.clientHeight)
      scroller.scrollTop = top + ROW - scroller.clientHeight;
    render();
    pool
      .get(rows[next]?.key ?? '')
      ?.querySelector('a')
      ?.focus();
  });

  const live = new Live('/api/v1/watch', {
    snapshot: (d) => {
      all.clear();
      for (const r of (d as { releases: ReleaseSummary[] }).releases) all.set(r.key, r);
      loaded = true;
      refilter();
    },
    changed: (d) => {
      const c = d as { releases: ReleaseSummary[]; removed: string[] };
      for (const r of c.releases) all.set(r.key, r);
      for (const k of c.removed) all.delete(k);
      refilter();
    },
    stale: () => {},
  });
  const tick = window.setInterval(render, 5000);
  render();
  return () => {
    live.close();
    clearInterval(tick);
    window.removeEventListener('resize', onResize);
  };
}

/* ---------- one release ---------- */

function section(title: string, id: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `${id}-h`, id },
    h('h2', { id: `${id}-h` }, title),
    ...children,
  );
}

/** Replaces `el`'s content when the data it shows changed (keeps focus and scroll otherwise). */
function update(el: HTMLElement, data: unknown, build: () => Child[]): void {
  const sig = JSON.stringify(data);
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.replaceChildren(...(build().filter(Boolean) as (Node | string)[]));
}

function versionsTable(versions: VersionView[]): Child[] {
  if (versions.length === 0) return [h('p', { class: 'muted' }, 'No versions yet.')];
  return [
    h(
      'div',
      { class: 'scroll-x' },
      h(
        'table',
        { class: 't' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Rev', 'Version', 'Role', 'Ready', 'Status', 'Images'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          ...versions.map((v) =>
            h(
              'tr',
              { 'data-testid': 'version' },
              h('td', { class: 'num' }, String(v.revision)),
              h('td', {}, v.name),
              h('td', {}, ...v.roles.map((r) => h('span', { class: 'role', 'data-role': r }, r))),
              h('td', { class: 'num' }, `${v.ready}/${v.desired}`),
              h('td', {}, v.status),
              h('td', { class: 'img' }, v.images.join(', ')),
            ),
          ),
        ),
      ),
    ),
  ];
}

function chart(m: MetricRunView): SVGElement {
  const model = chartModel(m, 320, 120);
  const ok = m.measurements.filter((x) => x.phase === 'Successful').length;
  const svg = s('svg', {
    class: 'chart',
    viewBox: `0 0 ${model.width} ${model.height}`,
    role: 'img',
    'aria-label': `${m.name}: ${m.measurements.length} measurements, ${ok} successful, ${m.failed} failed, ${m.inconclusive} inconclusive, ${m.errors} errors${m.condition ? `; condition ${m.condition}` : ''}`,
  });
  svg.append(s('line', { class: 'axis', x1: 0, x2: model.width, y1: model.baseline, y2: model.baseline }));
  const fmt = (n: number) => String(Number(n.toPrecision(3)));
  svg.append(
    s('text', { class: 'dom-label', x: model.width - 2, y: 10, 'text-anchor': 'end' }, fmt(model.domain[1])),
  );
  svg.append(
    s(
      'text',
      { class: 'dom-label', x: model.width - 2, y: model.height - 2, 'text-anchor': 'end' },
      fmt(model.domain[0]),
    ),
  );
  for (const t of model.thresholds) {
    svg.append(s('line', { class: 'thr', x1: 0, x2: model.width, y1: t.y, y2: t.y }));
    svg.append(s('text', { class: 'thr-label', x: 2, y: Math.max(10, t.y - 3) }, t.label));
  }
  const numeric = model.points.filter((p) => p.y !== undefined);
  if (numeric.length > 1)
    svg.append(
      s('polyline', {
        class: 'line',
        points: numeric.map((p) => `${p.x.toFixed(1)},${p.y?.toFixed(1)}`).join(' '),
      }),
    );
  for (const p of model.points) {
    const y = p.y ?? model.baseline;
    svg.append(
      s(
        'circle',
        { class: 'pt', cx: p.x.toFixed(1), cy: y.toFixed(1), r: 4, 'data-phase': p.phase },
        s('title', {}, p.label),
      ),
    );
  }
  return svg;
}

function runsView(runs: AnalysisRunView[]): Child[] {
  if (runs.length === 0) return [h('p', { class: 'muted' }, 'No analysis runs.')];
  return [
    h(
      'div',
      { class: 'runs' },
      ...runs.slice(0, 6).map((r) =>
        h(
          'div',
          { class: 'run', 'data-testid': 'analysis-run' },
          h(
            'div',
            { class: 'run-head' },
            h('strong', {}, r.name),
            h('span', { class: 'badge', 'data-phase': r.phase }, r.phase),
            h('span', { class: 'muted' }, `${r.kind}, revision ${r.revision}`),
          ),
          r.message ? h('p', { class: 'message' }, r.message) : null,
          h(
            'div',
            { class: 'metrics' },
            ...r.metrics.map((m) =>
              h(
                'div',
                { class: 'metric' },
                h(
                  'div',
                  { class: 'run-head' },
                  h('span', {}, m.name),
                  h('span', { class: 'badge', 'data-phase': m.phase }, m.phase),
                  m.measurements.length > 0
                    ? h(
                        'span',
                        { class: 'muted num' },
                        `✓${m.successful} ✗${m.failed} ?${m.inconclusive} !${m.errors}`,
                      )
                    : null,
                ),
                m.condition ? h('div', { class: 'cond' }, m.condition) : null,
                // A platform may know the checks but not their results (Flagger on a cluster).
                m.measurements.length > 0 ? chart(m) : h('p', { class: 'muted' }, 'No measurements here.'),
              ),
            ),
          ),
        ),
      ),
      h(
        'div',
        { class: 'legend', 'aria-hidden': 'true' },
        ...['Successful', 'Failed', 'Inconclusive', 'Error'].map((p) =>
          h('span', {}, h('i', { class: p }), p.toLowerCase()),
        ),
      ),
    ),
  ];
}

/**
 * The event timeline. Its list stays the same element across updates (only its items change), so
 * that a keyboard user scrolling it keeps the focus and the scroll position when an event arrives.
 */
function showEvents(box: HTMLElement, list: HTMLOListElement, events: ReleaseEventView[]): void {
  const sig = JSON.stringify(events);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  if (events.length === 0) {
    box.replaceChildren(h('p', { class: 'muted' }, 'No events yet.'));
    return;
  }
  if (list.parentElement !== box) box.replaceChildren(list);
  list.replaceChildren(
    ...[...events]
      .reverse()
      .map((e) =>
        h(
          'li',
          { 'data-type': e.type, 'data-reason': e.reason, 'data-testid': 'event' },
          h('time', { class: 'num muted', datetime: e.at, title: e.at }, new Date(e.at).toLocaleTimeString()),
          h('span', { class: 'reason' }, e.reason),
          h('span', { class: 'msg' }, e.message),
        ),
      ),
  );
}

function releasePage(namespace: string, name: string): () => void {
  const key = `${namespace}/${name}`;
  let view: ReleaseView | undefined;
  const title = h('h1', {}, name);
  const badge = h('span', { class: 'badge', id: 'phase', 'data-phase': 'Unknown' }, '…');
  const message = h('p', { class: 'message', id: 'message' });
  const facts = h('dl', { class: 'facts' });
  const result = h('p', { class: 'result', role: 'status', 'aria-live': 'polite', id: 'action-result' });
  const buttons = ACTION_DEFS.map((d) =>
    h(
      'button',
      {
        type: 'button',
        id: `act-${d.id}`,
        class: d.danger ? 'danger' : '',
        onclick: () => {
          if (view) void runAction(d, view, result);
        },
      },
      d.label,
    ),
  );
  const actionsBox = h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' }, ...buttons);
  const actions = section('Actions', 'sec-actions', actionsBox, result);
  const steps = h('div', { id: 'steps-body' });
  const stepNote = h('p', { class: 'step-note num', id: 'step-note' });
  const split = h('div', { id: 'split-body' });
  const versions = h('div', { id: 'versions-body' });
  const runs = h('div', { id: 'runs-body' });
  const events = h('div', { id: 'events-body' });
  const eventList = h('ol', { class: 'events', 'aria-label': 'Events, newest first', tabindex: '0' });
  const hasTraffic = session.traffic?.release === key;
  const grid = h('div', { class: 'traffic', id: 'traffic-grid', 'aria-hidden': 'true' });
  const gridNote = h('p', { class: 'traffic-note num', id: 'traffic-note' });
  const CELLS = 200;
  for (let i = 0; i < CELLS; i++) grid.append(h('div', { class: 'cell' }));

  main().replaceChildren(
    h('a', { class: 'crumb', href: '#/' }, '← all releases'),
    h('div', { class: 'head-line' }, title, badge, h('span', { class: 'muted' }, namespace)),
    message,
    facts,
    actions,
    h(
      'div',
      { class: 'grid2' },
      section('Steps', 'sec-steps', steps, stepNote),
      section('Traffic split', 'sec-split', split),
    ),
    hasTraffic
      ? h('section', { class: 'card', id: 'traffic' }, h('h2', {}, 'Live requests'), grid, gridNote)
      : '',
    section('Revisions and versions', 'sec-versions', versions),
    section('Analysis runs', 'sec-runs', runs),
    section('Events', 'sec-events', events),
  );
  document.title = `${name} · Vireo`;

  const show = (v: ReleaseView) => {
    view = v;
    title.textContent = v.name;
    badge.dataset.phase = v.phase;
    badge.textContent = v.phase;
    message.textContent = v.message ?? '';
    const canAct = !session.readOnly && v.dialect === 'argo';
    actions.hidden = session.readOnly;
    for (const b of buttons) b.disabled = !canAct;
    if (v.dialect === 'flagger' && !result.textContent)
      result.textContent =
        'A Flagger Canary is driven by its analysis and webhook gates; actions are for Argo Rollouts.';
    update(facts, [v.kind, v.strategy, v.revision, v.replicas, v.images], () => [
      ...(
        [
          ['Kind', `${v.kind} (${v.dialect === 'argo' ? 'Argo Rollouts' : 'Flagger'})`],
          ['Strategy', v.strategy],
          ['Revision', String(v.revision)],
          ['Replicas', `${v.replicas.desired} desired, ${v.replicas.ready} ready`],
        ] as const
      ).map(([k, x]) => h('div', {}, h('dt', {}, k), h('dd', { class: 'num' }, x))),
      ...v.images.map((i) => h('div', {}, h('dt', {}, i.roles.join(', ')), h('dd', {}, i.image))),
    ]);
    update(steps, [v.steps, v.step, v.strategy], () => {
      if (v.steps && v.steps.length > 0) {
        const states = stepStates(v.steps, v.step?.index);
        return [
          h(
            'ol',
            { class: 'steps', 'aria-label': 'Steps' },
            ...v.steps.map((st, i) =>
              h(
                'li',
                {
                  'data-state': states[i] ?? 'todo',
                  'aria-current': states[i] === 'current' ? 'step' : undefined,
                  'data-testid': 'step',
                },
                h('span', { class: 'dot' }, String(i + 1)),
                h('span', { class: 'lbl' }, st.label, h('span', { class: 'sr-only' }, ` (${states[i]})`)),
              ),
            ),
          ),
        ];
      }
      if (v.step)
        return [
          h(
            'p',
            { class: 'num' },
            `${v.strategy === 'Flagger' ? 'Iteration' : 'Step'} ${v.step.index} of ${v.step.count}`,
          ),
        ];
      return [h('p', { class: 'muted' }, v.strategy === 'BlueGreen' ? 'Blue/green: no steps.' : 'No steps.')];
    });
    update(split, [v.actualWeight, v.setWeight, v.strategy, v.images, v.phase], () => {
      const canaryW = v.actualWeight ?? (v.strategy === 'BlueGreen' ? 0 : (v.setWeight ?? 0));
      const stableImg = v.images.find((i) =>
        i.roles.some((r) => r === 'stable' || r === 'active' || r === 'primary'),
      );
      const canaryImg = v.images.find((i) => i.roles.some((r) => r === 'canary' || r === 'preview'));
      const sDiv = h('div', { class: 's' }, canaryW < 100 ? `${100 - canaryW} %` : '');
      const cDiv = h('div', { class: 'c' }, canaryW > 0 ? `${canaryW} %` : '');
      sDiv.style.flexBasis = `${100 - canaryW}%`;
      cDiv.style.flexBasis = `${canaryW}%`;
      return [
        h(
          'div',
          {
            class: 'split',
            role: 'img',
            id: 'split',
            'data-canary': String(canaryW),
            'aria-label': `stable ${100 - canaryW} %, canary ${canaryW} %`,
          },
          sDiv,
          cDiv,
        ),
        h(
          'div',
          { class: 'split-legend' },
          h('span', {}, `${v.strategy === 'BlueGreen' ? 'active' : 'stable'}: ${stableImg?.image ?? '—'}`),
          h('span', {}, `${v.strategy === 'BlueGreen' ? 'preview' : 'canary'}: ${canaryImg?.image ?? '—'}`),
        ),
        // Always there, empty or not: a note coming or going must not move what is below.
        h(
          'p',
          { class: 'split-note muted num' },
          v.phase !== 'Degraded' &&
            v.setWeight !== undefined &&
            v.actualWeight !== undefined &&
            v.setWeight !== v.actualWeight
            ? `the current step sets ${v.setWeight} %`
            : v.actualWeight === undefined && v.strategy === 'Canary'
              ? 'No traffic router: the split follows the replica counts.'
              : '',
        ),
      ];
    });
    update(versions, v.versions, () => versionsTable(v.versions));
    update(runs, v.analysisRuns, () => runsView(v.analysisRuns));
    showEvents(events, eventList, v.events);
    tickNote();
  };

  const tickNote = () => {
    if (!view) return;
    const left = formatLeft(view.pauseEndsAt, Date.now());
    const reasons = view.pauseReasons?.join(', ');
    stepNote.textContent =
      view.phase === 'Paused' || reasons
        ? `Paused${reasons ? ` (${reasons})` : ''}${left ? `: ${left} left` : view.pauseEndsAt ? '' : ': until promoted or resumed'}`
        : view.step && view.step.index >= view.step.count
          ? 'All steps done.'
          : '';
  };

  const live = new Live(`/api/v1/watch?release=${encodeURIComponent(key)}`, {
    release: (d) => show((d as { release: ReleaseView }).release),
    gone: () => {
      message.textContent = `${key} does not exist (any more).`;
      badge.textContent = 'gone';
      badge.dataset.phase = 'Unknown';
      for (const b of buttons) b.disabled = true;
    },
    stale: () => {},
  });
  let traffic: Live | undefined;
  if (hasTraffic) {
    const cells = [...grid.children] as HTMLElement[];
    const recent: { color: string; err: boolean }[] = [];
    traffic = new Live(
      '/api/v1/traffic',
      {
        samples: (d) => {
          for (const x of (d as { samples: { color: string; status: number }[] }).samples)
            recent.push({ color: x.color, err: x.status === 0 || x.status >= 500 });
          recent.splice(0, Math.max(0, recent.length - CELLS));
          recent.forEach((x, i) => {
            const c = cells[i];
            if (!c) return;
            c.style.background = x.color ? cssColor(x.color) : '#000';
            c.classList.toggle('err', x.err);
          });
          const by = new Map<string, number>();
          for (const x of recent) by.set(x.color || 'no answer', (by.get(x.color || 'no answer') ?? 0) + 1);
          const errors = recent.filter((x) => x.err).length;
          gridNote.textContent = `last ${recent.length} requests: ${[...by].map(([c, n]) => `${n} ${c}`).join(', ')}; ${errors} error${errors === 1 ? '' : 's'}`;
        },
      },
      false,
    );
  }
  const timer = window.setInterval(tickNote, 1000);
  return () => {
    live.close();
    traffic?.close();
    clearInterval(timer);
  };
}

/* ---------- routing and start ---------- */

let leave: (() => void) | undefined;
let routed = false;

function route(): void {
  leave?.();
  const r = parseRoute(location.hash);
  setConnection('connecting');
  if (r.page === 'release') leave = releasePage(r.namespace, r.name);
  else {
    document.title = 'Vireo';
    leave = listPage(r.filters);
  }
  // After a navigation (not the first page) the focus goes to the new content, as a page load would
  // put it at the start: the element that had it is gone.
  if (routed) {
    window.scrollTo(0, 0);
    main().focus({ preventScroll: true });
  }
  routed = true;
}

/** A token handed over in the URL's fragment (never sent to a server): log in with it, then drop it. */
async function takeToken(): Promise<void> {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m?.[1]) return;
  const rest = location.hash.replace(/(^#|&)token=[^&]+/, '$1').replace(/^#&?$/, '');
  history.replaceState(null, '', location.pathname + location.search + rest);
  const r = await post('/api/v1/login', { token: decodeURIComponent(m[1]) });
  if (r.status === 200) {
    await loadSession();
    toast('Logged in: actions are allowed.', true);
  } else toast(`Login failed: ${String(r.body.error ?? r.status)}`, false);
}

async function start(): Promise<void> {
  try {
    await loadSession();
  } catch (e) {
    main().replaceChildren(h('p', {}, `Cannot load the dashboard: ${(e as Error).message}`));
    return;
  }
  await takeToken();
  // The skip link moves the focus; as a plain `#main` link it would change the route.
  document.querySelector('a.skip')?.addEventListener('click', (e) => {
    e.preventDefault();
    main().focus();
  });
  window.addEventListener('hashchange', () => {
    if (/(?:^#|&)token=/.test(location.hash)) void takeToken().then(route);
    else route();
  });
  route();
}

void start();
