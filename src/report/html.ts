/**
 * `scan -o html`: one self-contained page people look at. Pure: reports and the scan summary in, one HTML string
 * out. No network fetch of any kind (inline CSS and script, and a Content-Security-Policy that forbids the rest).
 * Every string that came from a server or from input (certificate names, NTLM names, error messages, targets) is
 * HTML-escaped and its control characters shown as \n, \xNN, so it can neither add markup nor fake a line; server
 * text never goes inside the script, which reads the table from the DOM.
 *
 * The script sorts (click a header) and filters (text box, verdict choice), and reads the same state from the
 * URL fragment (#sort=ms&dir=desc&q=tls&verdict=ok), so a view can be linked and a headless browser can check it.
 */
import type { ProbeReport, StageResult } from '../probe/types.js';
import { toRow, targetText, type Summary } from './rows.js';

export interface HtmlOptions {
  title?: string;
  /** When the scan ran (shown, and the reference for "days left"); default: the latest report's start. */
  now?: Date;
}

const OK_VERDICTS: ReadonlySet<string> = new Set(['ok', 'legacy_server', 'connects']);
const MARK: Record<StageResult['status'], string> = { ok: '✓', failed: '✗', skipped: '–', not_reached: '·' };
const DAY_MS = 86_400_000;

/** Text for HTML element content and quoted attribute values; control characters become visible escapes. */
export function escapeHtml(text: string): string {
  const shown = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
  return shown.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

const e = escapeHtml;

interface HostRow {
  report: ProbeReport;
  target: string;
  verdict: string;
  ok: boolean;
  cells: { key: string; text: string; sort: string; cls?: string }[];
}

function certInfo(r: ProbeReport, now: Date): { subject: string; issuer: string; notAfter?: Date; daysLeft?: number } {
  const cert = r.stages.find((s) => s.stage === 'tls')?.facts?.['certificate'] as Record<string, unknown> | undefined;
  if (!cert || typeof cert !== 'object') return { subject: '', issuer: '' };
  const subject = String(cert['subject'] ?? cert['subjectCN'] ?? '');
  const issuer = String(cert['issuer'] ?? cert['issuerCN'] ?? '');
  const na = typeof cert['notAfter'] === 'string' ? new Date(cert['notAfter']) : undefined;
  if (!na || Number.isNaN(na.getTime())) return { subject, issuer };
  return { subject, issuer, notAfter: na, daysLeft: Math.floor((na.getTime() - now.getTime()) / DAY_MS) };
}

function serverName(r: ProbeReport): string {
  const n = r.stages.find((s) => s.stage === 'credssp')?.facts?.['ntlm'] as Record<string, unknown> | undefined;
  if (!n || typeof n !== 'object') return '';
  return String(n['dnsComputer'] ?? n['netbiosComputer'] ?? '');
}

function hostRow(r: ProbeReport, now: Date): HostRow {
  const row = toRow(r);
  const c = certInfo(r, now);
  const days = c.daysLeft;
  const expiryText = c.notAfter ? `${c.notAfter.toISOString().slice(0, 10)} (${days! < 0 ? `expired ${-days!} d ago` : `${days} d`})` : '';
  const expiryCls = days === undefined ? undefined : days < 0 ? 'bad' : days < 30 ? 'warn' : undefined;
  const ok = OK_VERDICTS.has(r.verdict.id);
  const cells: HostRow['cells'] = [
    { key: 'target', text: row.target, sort: row.target },
    { key: 'address', text: row.address, sort: row.address },
    { key: 'verdict', text: row.verdict, sort: row.verdict, cls: ok ? 'good' : 'bad' },
    { key: 'stage', text: row.stage, sort: row.stage },
    { key: 'security', text: row.selected, sort: row.selected },
    { key: 'nla', text: row.nla, sort: row.nla },
    { key: 'tls', text: row.tls, sort: row.tls },
    { key: 'server', text: serverName(r), sort: serverName(r) },
    { key: 'subject', text: c.subject, sort: c.subject },
    { key: 'expiry', text: expiryText, sort: c.notAfter ? String(c.notAfter.getTime()).padStart(16, '0') : '', ...(expiryCls ? { cls: expiryCls } : {}) },
    { key: 'findings', text: r.findings.map((f) => f.id).join(' '), sort: String(r.findings.length).padStart(4, '0') },
    { key: 'ms', text: row.ms, sort: String(Math.round(r.durationMs)).padStart(10, '0') },
  ];
  return { report: r, target: row.target, verdict: row.verdict, ok, cells };
}

const HEADERS: Record<string, string> = {
  target: 'Target', address: 'Address', verdict: 'Verdict', stage: 'Stage', security: 'Security', nla: 'NLA', tls: 'TLS',
  server: 'Server name', subject: 'Certificate subject', expiry: 'Certificate expires', findings: 'Findings', ms: 'ms',
};

/** Every stage up to the last one that ran; the trailing stages that never ran on one line. */
function ladder(r: ProbeReport): string {
  let last = r.stages.length - 1;
  while (last >= 0 && (r.stages[last]!.status === 'not_reached' || r.stages[last]!.status === 'skipped')) last--;
  const rest = r.stages.slice(last + 1);
  const items = r.stages.slice(0, last + 1).map((s) => {
    const ms = typeof s.durationMs === 'number' ? `${s.durationMs.toFixed(1)} ms` : '';
    const why = s.error ? `${s.error.kind}${s.error.codeName ? ` ${s.error.codeName}` : ''}: ${s.error.message}` : (s.reason ?? '');
    return `<li class="st-${s.status}"><span class="mark">${MARK[s.status]}</span><span class="sname">${e(s.stage)}</span><span class="sms">${e(ms)}</span><span class="swhy">${e(why)}</span></li>`;
  });
  if (rest.length > 0) items.push(`<li class="st-rest"><span class="mark">·</span><span class="srest">${e(rest.map((s) => s.stage).join(', '))}: ${e(rest.every((s) => s.status === 'skipped') ? 'skipped' : 'not reached')}</span></li>`);
  return items.join('');
}

function countTable(title: string, counts: Record<string, number>, cls: string, kind: 'verdict' | 'finding'): string {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (rows.length === 0) return `<section class="${cls}"><h2>${e(title)}</h2><p class="none">none</p></section>`;
  const body = rows
    .map(([k, n]) => {
      const good = kind === 'verdict' && OK_VERDICTS.has(k);
      const name = kind === 'verdict' ? `<a href="#verdict=${encodeURIComponent(k)}" class="${good ? 'good' : 'bad'}">${e(k)}</a>` : `<a href="#q=${encodeURIComponent(k)}">${e(k)}</a>`;
      return `<tr><td>${name}</td><td class="num">${n}</td></tr>`;
    })
    .join('');
  return `<section class="${cls}"><h2>${e(title)}</h2><table class="counts"><tbody>${body}</tbody></table></section>`;
}

export function formatHtml(reports: readonly ProbeReport[], summary: Summary, o: HtmlOptions = {}): string {
  const latest = reports.reduce<number>((m, r) => Math.max(m, Date.parse(r.startedAt) || 0), 0);
  const now = o.now ?? new Date(latest || 0);
  const title = o.title ?? 'rdp-probe scan report';
  const rows = [...reports].sort((a, b) => targetText(a.target.host, a.target.port).localeCompare(targetText(b.target.host, b.target.port), 'en', { numeric: true })).map((r) => hostRow(r, now));
  const failing = rows.filter((r) => !r.ok);
  const verdicts = Object.keys(summary.verdicts).sort();
  const head = Object.keys(HEADERS).map((k) => `<th data-key="${k}" tabindex="0" aria-sort="none">${e(HEADERS[k]!)}</th>`).join('');
  const body = rows
    .map((r) => `<tr data-verdict="${e(r.verdict)}">${r.cells.map((c) => `<td data-key="${c.key}" data-sort="${e(c.sort)}"${c.cls ? ` class="${c.cls}"` : ''}>${e(c.text)}</td>`).join('')}</tr>`)
    .join('\n');
  const ladders = failing
    .map((r) => `<article class="host"><h3>${e(r.target)} <span class="bad">${e(r.verdict)}</span>${r.report.verdict.stage ? ` at ${e(r.report.verdict.stage)}` : ''}</h3><p>${e(r.report.verdict.summary)}</p><ol class="ladder">${ladder(r.report)}</ol></article>`)
    .join('\n');
  const okCount = rows.filter((r) => r.ok).length;
  const resumed = summary.resumed ? `, ${summary.resumed} from an earlier run (--resume) not listed` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${e(title)}</h1><p class="meta">${summary.total} target(s) scanned${resumed}${summary.interrupted ? `, ${summary.interrupted} interrupted` : ''} · ${okCount} passed, ${failing.length} failed · ${e(now.toISOString().replace('T', ' ').slice(0, 19))} UTC</p></header>
<div class="summary">
${countTable('Verdicts', summary.verdicts, 'verdicts', 'verdict')}
${countTable('Findings', summary.findings, 'findings', 'finding')}
</div>
<section class="hosts">
<h2>Hosts</h2>
<div class="controls"><label>Filter <input id="q" type="search" placeholder="text in any column" autocomplete="off"></label>
<label>Verdict <select id="verdict"><option value="">all</option>${verdicts.map((v) => `<option value="${e(v)}">${e(v)}</option>`).join('')}</select></label>
<span id="shown" aria-live="polite">${rows.length} of ${rows.length} shown</span></div>
<table id="hosts"><thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody></table>
</section>
<section class="failing">
<h2>Where the failing hosts stopped</h2>
${ladders || '<p class="none">every host passed</p>'}
</section>
<footer>rdp-probe ${e(reports[0]?.tool.version ?? '')} · self-contained page: nothing is fetched</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

const CSS = `
:root{--bad:#b3261e;--good:#1b6e2d;--warn:#8a5a00;--line:#d0d4da;--head:#f2f4f7}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1d232a}
h1{font-size:1.5rem;margin:0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:.2rem 0}
.meta{color:#5b6570;margin:.3rem 0 0}
.summary{display:flex;gap:3rem;flex-wrap:wrap}
table{border-collapse:collapse}
.counts td{padding:.15rem .8rem .15rem 0}.num{text-align:right;font-variant-numeric:tabular-nums}
#hosts{width:100%;font-size:13px}
#hosts th,#hosts td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
#hosts td:not([data-key=server]):not([data-key=subject]):not([data-key=findings]){white-space:nowrap}
#hosts td[data-key=subject]{max-width:28rem}
#hosts th{background:var(--head);cursor:pointer;user-select:none;white-space:nowrap;position:sticky;top:0}
#hosts th[aria-sort=ascending]::after{content:" ▲"}#hosts th[aria-sort=descending]::after{content:" ▼"}
#hosts tbody tr:hover{background:#f7f9fb}
.controls{display:flex;gap:1.5rem;align-items:center;margin:.5rem 0}
.controls input{width:18rem}
.bad{color:var(--bad);font-weight:600}.good{color:var(--good);font-weight:600}.warn{color:var(--warn);font-weight:600}
a{color:inherit}
.host{border:1px solid var(--line);border-radius:6px;padding:.5rem .8rem;margin:.6rem 0}
.ladder{list-style:none;padding:0;margin:.3rem 0;font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace}
.ladder li{display:grid;grid-template-columns:1.2rem 6rem 6rem 1fr;gap:.4rem}
.st-ok .mark{color:var(--good)}.st-failed{color:var(--bad);font-weight:600}.st-skipped,.st-not_reached,.st-rest{color:#8b949e}
.ladder .srest{grid-column:2/5}
.sms{text-align:right}
.none{color:#5b6570}
footer{margin-top:2rem;color:#8b949e;font-size:12px}
`;

/** Reads the table from the DOM and the view from the fragment; server text never reaches this code as code. */
const SCRIPT = `
(function(){
  var table=document.getElementById('hosts'),tbody=table.tBodies[0],q=document.getElementById('q'),sel=document.getElementById('verdict'),shown=document.getElementById('shown');
  var rows=Array.prototype.slice.call(tbody.rows),state={sort:'',dir:'asc',q:'',verdict:''};
  function readHash(){
    var h=location.hash.replace(/^#/,''),p=new URLSearchParams(h);
    state.sort=p.get('sort')||'';state.dir=p.get('dir')==='desc'?'desc':'asc';state.q=p.get('q')||'';state.verdict=p.get('verdict')||'';
  }
  function writeHash(){
    var p=new URLSearchParams();
    if(state.sort){p.set('sort',state.sort);p.set('dir',state.dir);}
    if(state.q)p.set('q',state.q);
    if(state.verdict)p.set('verdict',state.verdict);
    var s=p.toString();
    if(history.replaceState)history.replaceState(null,'',s?'#'+s:location.pathname+location.search);
  }
  function cell(r,k){for(var i=0;i<r.cells.length;i++){if(r.cells[i].getAttribute('data-key')===k)return r.cells[i];}return null;}
  function apply(){
    var ths=table.tHead.rows[0].cells;
    for(var i=0;i<ths.length;i++){var k=ths[i].getAttribute('data-key');ths[i].setAttribute('aria-sort',k===state.sort?(state.dir==='asc'?'ascending':'descending'):'none');}
    var list=rows.slice();
    if(state.sort){
      var f=state.dir==='asc'?1:-1;
      var key=function(r){var c=cell(r,state.sort);return c?c.getAttribute('data-sort')||'':'';};
      list.sort(function(a,b){return f*key(a).localeCompare(key(b),'en',{numeric:true})||rows.indexOf(a)-rows.indexOf(b);});
    }
    var needle=state.q.toLowerCase(),n=0;
    list.forEach(function(r){
      var hit=(!state.verdict||r.getAttribute('data-verdict')===state.verdict)&&(!needle||r.textContent.toLowerCase().indexOf(needle)>=0);
      r.hidden=!hit;if(hit)n++;tbody.appendChild(r);
    });
    shown.textContent=n+' of '+rows.length+' shown';
    q.value=state.q;sel.value=state.verdict;
  }
  table.tHead.addEventListener('click',function(ev){
    var th=ev.target.closest('th');if(!th)return;var k=th.getAttribute('data-key');
    state.dir=state.sort===k&&state.dir==='asc'?'desc':'asc';state.sort=k;writeHash();apply();
  });
  table.tHead.addEventListener('keydown',function(ev){if(ev.key==='Enter'||ev.key===' '){ev.preventDefault();ev.target.click();}});
  q.addEventListener('input',function(){state.q=q.value;writeHash();apply();});
  sel.addEventListener('change',function(){state.verdict=sel.value;writeHash();apply();});
  window.addEventListener('hashchange',function(){readHash();apply();});
  readHash();apply();
  document.body.setAttribute('data-ready','1');
})();
`;
