/**
 * The dashboard's page and style sheet. They live in a TypeScript module (not .html/.css files) so the
 * build (`tsc`, which copies nothing else) carries them into dist/ with the rest. No inline script or
 * style: the Content-Security-Policy allows only this origin's files.
 */

export function indexHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Vireo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/style.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="#/">Vireo</a>
  <span class="top-note" id="mode"></span>
  <span class="conn" id="conn" data-state="connecting">connecting…</span>
</header>
<div class="stale" id="stale" role="alert" hidden></div>
<main id="main" tabindex="-1"><p class="muted">Loading…</p></main>
<div class="toast" id="toast" role="status" aria-live="polite"></div>
<noscript>The Vireo dashboard needs JavaScript.</noscript>
</body>
</html>
`;
}

export const STYLE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6572; --card: #ffffff; --border: #d5dae1;
  /* Text colours meet WCAG AA (4.5:1) on --bg, --card and their badge backgrounds (the browser tests measure it). */
  --accent: #0969da; --accent-fg: #ffffff; --focus: #1f6feb;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --info: #0969da; --idle: #59636e;
  --ok-bg: #dafbe1; --warn-bg: #fff8c5; --bad-bg: #ffebe9; --info-bg: #ddf4ff; --idle-bg: #eaeef2;
  --stable: #1a7f37; --canary: #9a6700; --on-fill: #ffffff;
  --row: 40px;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --card: #161b22; --border: #30363d;
    --accent: #4493f8; --accent-fg: #0d1117; --focus: #58a6ff;
    --ok: #3fb950; --warn: #d29922; --bad: #f85149; --info: #58a6ff; --idle: #8b949e;
    --ok-bg: #12261e; --warn-bg: #272115; --bad-bg: #2d1517; --info-bg: #121d2f; --idle-bg: #21262d;
    --stable: #3fb950; --canary: #d29922; --on-fill: #0d1117;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
::placeholder { color: var(--muted); opacity: 1; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 8px; top: 8px; background: var(--card); padding: 6px 10px; z-index: 10; }
.muted { color: var(--muted); }
.num { font-variant-numeric: tabular-nums; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.top { display: flex; align-items: center; gap: 12px; padding: 8px 16px; background: var(--card); border-bottom: 1px solid var(--border); }
.brand { font-weight: 700; font-size: 16px; color: var(--fg); text-decoration: none; }
.top-note { color: var(--muted); font-size: 12px; }
.conn { margin-left: auto; font-size: 12px; color: var(--muted); min-width: 9em; text-align: right; }
.conn::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--idle); vertical-align: middle; }
.conn[data-state="live"]::before { background: var(--ok); }
.conn[data-state="stale"]::before { background: var(--bad); }
.stale { background: var(--warn-bg); color: var(--fg); border-bottom: 1px solid var(--warn); padding: 6px 16px; }
body.is-stale main { opacity: .72; }
main { padding: 16px; max-width: 1200px; margin: 0 auto; outline: none; }
h1 { font-size: 20px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 15px; margin: 0 0 8px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 8px; padding: 12px 14px; margin: 0 0 14px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: end; margin-bottom: 10px; }
.toolbar label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
input, select, button { font: inherit; color: var(--fg); background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: 5px 8px; min-height: 32px; }
button { cursor: pointer; }
button:hover { border-color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button.danger { color: var(--bad); border-color: var(--bad); }
.count { color: var(--muted); font-size: 12px; margin-left: auto; }
/* The list: a table whose body is a virtual scroller of fixed-height rows. */
.table { background: var(--card); border: 1px solid var(--border); border-radius: 8px; overflow: hidden; }
.row { display: grid; grid-template-columns: minmax(9rem, 2.2fr) minmax(6rem, 1fr) 7.5rem 6.5rem 5rem 7rem 4rem 4rem; gap: 8px; align-items: center; height: var(--row); padding: 0 12px; border-bottom: 1px solid var(--border); white-space: nowrap; }
.row > * { overflow: hidden; text-overflow: ellipsis; }
.row.head { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--bg); }
.scroller { position: relative; overflow-y: auto; height: calc(100vh - 210px); min-height: 240px; contain: strict; }
.scroller .row { position: absolute; left: 0; right: 0; top: 0; }
.scroller .row:hover, .scroller .row:focus-within { background: var(--bg); }
/* The row is the focus indicator: a cell's overflow would clip the link's own outline. */
.scroller .row:has(a:focus-visible) { outline: 3px solid var(--focus); outline-offset: -3px; }
.scroller .row a:focus-visible { outline: none; text-decoration: underline; }
.row a.name { font-weight: 600; text-decoration: none; color: var(--fg); }
.row a.name:hover { text-decoration: underline; }
.empty { padding: 24px; color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: var(--idle-bg); color: var(--idle); }
.badge[data-phase="Healthy"], .badge[data-phase="Successful"] { background: var(--ok-bg); color: var(--ok); }
.badge[data-phase="Progressing"], .badge[data-phase="Running"] { background: var(--info-bg); color: var(--info); }
.badge[data-phase="Paused"], .badge[data-phase="Inconclusive"] { background: var(--warn-bg); color: var(--warn); }
.badge[data-phase="Degraded"], .badge[data-phase="Failed"], .badge[data-phase="Error"] { background: var(--bad-bg); color: var(--bad); }
.role { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 8px; border: 1px solid var(--border); margin-right: 4px; }
.role[data-role="stable"], .role[data-role="active"], .role[data-role="primary"] { border-color: var(--stable); color: var(--stable); }
.role[data-role="canary"], .role[data-role="preview"] { border-color: var(--canary); color: var(--canary); }
@media (max-width: 760px) {
  main { padding: 10px; }
  .row { grid-template-columns: minmax(8rem, 1fr) 7.5rem 4.5rem 4.5rem; }
  .row .c-ns, .row .c-strategy, .row .c-rev, .row .c-age { display: none; }
  .scroller { height: calc(100vh - 250px); }
}
@media (max-width: 480px) {
  .row { grid-template-columns: minmax(0, 1fr) 7.5rem 2.75rem 4.25rem; gap: 6px; padding: 0 8px; }
}
/* A release */
.crumb { font-size: 12px; margin-bottom: 6px; display: inline-block; }
.head-line { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; }
.message { min-height: 1.45em; color: var(--muted); margin: 4px 0 0; overflow-wrap: anywhere; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 8px 0 0; font-size: 13px; }
.facts dt { color: var(--muted); display: inline; }
.facts dd { display: inline; margin: 0 0 0 4px; }
.facts div { min-width: 0; overflow-wrap: anywhere; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-bottom: 14px; }
.grid2 > .card { margin: 0; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
.actions { display: flex; flex-wrap: wrap; gap: 8px; }
.result { min-height: 1.45em; margin: 8px 0 0; font-size: 13px; }
.result[data-ok="false"] { color: var(--bad); }
ol.steps { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 0; padding: 0; margin: 0; }
ol.steps li { display: flex; align-items: center; font-size: 12px; }
ol.steps li .dot { display: inline-flex; align-items: center; justify-content: center; min-width: 22px; height: 22px; border-radius: 11px; border: 2px solid var(--border); background: var(--card); font-weight: 700; font-size: 11px; padding: 0 6px; }
ol.steps li[data-state="done"] .dot { background: var(--ok); border-color: var(--ok); color: var(--card); }
ol.steps li[data-state="current"] .dot { border-color: var(--accent); color: var(--accent); box-shadow: 0 0 0 3px var(--info-bg); }
ol.steps li .lbl { margin: 0 6px; }
ol.steps li + li::before { content: ""; width: 14px; height: 2px; background: var(--border); margin-right: 6px; }
.step-note { min-height: 1.45em; margin: 8px 0 0; font-size: 13px; }
.split { display: flex; height: 26px; border-radius: 6px; overflow: hidden; border: 1px solid var(--border); }
.split > div { display: flex; align-items: center; justify-content: center; font-size: 12px; font-weight: 600; color: var(--on-fill); min-width: 0; white-space: nowrap; transition: flex-basis .4s; }
.split .s { background: var(--stable); }
.split .c { background: var(--canary); }
.split-legend { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0 12px; font-size: 12px; margin-top: 6px; color: var(--muted); }
.split-legend span { min-width: 0; overflow-wrap: anywhere; }
/* One line kept for the note under the split, so that it coming and going moves nothing. */
.split-note { min-height: 1.45em; margin: 6px 0 0; font-size: 13px; }
table.t { width: 100%; border-collapse: collapse; font-size: 13px; }
table.t th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12px; }
table.t th, table.t td { padding: 5px 8px 5px 0; border-bottom: 1px solid var(--border); vertical-align: top; }
table.t td.img { overflow-wrap: anywhere; }
.scroll-x { overflow-x: auto; }
.runs { display: grid; gap: 12px; }
.run-head { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; margin-top: 8px; }
.metric { border: 1px solid var(--border); border-radius: 6px; padding: 8px; }
.metric .cond { font-family: ui-monospace, monospace; font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
svg.chart { width: 100%; height: auto; display: block; margin-top: 6px; }
svg.chart .axis { stroke: var(--border); }
svg.chart .thr { stroke: var(--muted); stroke-dasharray: 4 3; }
svg.chart .thr-label, svg.chart .dom-label { fill: var(--muted); font-size: 10px; }
svg.chart .line { fill: none; stroke: var(--info); stroke-width: 1.5; opacity: .6; }
svg.chart .pt { stroke: var(--card); stroke-width: 1; }
svg.chart .pt[data-phase="Successful"] { fill: var(--ok); }
svg.chart .pt[data-phase="Failed"] { fill: var(--bad); }
svg.chart .pt[data-phase="Inconclusive"] { fill: var(--warn); }
svg.chart .pt[data-phase="Error"] { fill: var(--idle); stroke: var(--bad); stroke-width: 2; }
svg.chart .pt[data-phase="Running"] { fill: var(--info); }
.legend { display: flex; flex-wrap: wrap; gap: 10px; font-size: 11px; color: var(--muted); margin-top: 4px; }
.legend i { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 4px; }
.legend i.Successful { background: var(--ok); } .legend i.Failed { background: var(--bad); }
.legend i.Inconclusive { background: var(--warn); } .legend i.Error { background: var(--idle); }
ol.events { list-style: none; margin: 0; padding: 0; max-height: 420px; overflow-y: auto; }
ol.events li { display: grid; grid-template-columns: 6.5rem 13rem 1fr; gap: 8px; padding: 4px 0; border-bottom: 1px solid var(--border); font-size: 13px; }
ol.events li[data-type="Warning"] .reason { color: var(--bad); font-weight: 600; }
ol.events li[data-reason="UserAction"] .reason { color: var(--accent); font-weight: 600; }
ol.events .msg { overflow-wrap: anywhere; }
ol.events .reason { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
@media (max-width: 760px) { ol.events li { grid-template-columns: 5rem 1fr; } ol.events .msg { grid-column: 1 / -1; } }
.traffic { display: grid; grid-template-columns: repeat(40, 1fr); gap: 2px; }
@media (max-width: 760px) { .traffic { grid-template-columns: repeat(20, 1fr); } }
.traffic .cell { aspect-ratio: 1; border-radius: 3px; background: var(--idle-bg); }
.traffic .cell.err { outline: 2px solid #e00; outline-offset: -2px; }
.traffic-note { font-size: 12px; color: var(--muted); margin-top: 6px; min-height: 1.45em; }
dialog { border: 1px solid var(--border); border-radius: 8px; background: var(--card); color: var(--fg); max-width: min(92vw, 460px); padding: 16px; }
dialog::backdrop { background: rgba(0, 0, 0, .45); }
dialog form { display: grid; gap: 10px; }
dialog .buttons { display: flex; justify-content: end; gap: 8px; }
dialog label { display: grid; gap: 2px; font-size: 12px; color: var(--muted); }
.toast { position: fixed; bottom: 16px; right: 16px; max-width: min(90vw, 420px); }
.toast div { background: var(--card); border: 1px solid var(--border); border-left: 4px solid var(--ok); border-radius: 6px; padding: 8px 12px; margin-top: 6px; box-shadow: 0 2px 8px rgba(0,0,0,.2); }
.toast div[data-ok="false"] { border-left-color: var(--bad); }
`;
