/**
 * `rdp-probe explain CODE…` as a pure function: words in, explanations out. Works both ways (a number finds its
 * entries, a name finds its code), across every table, and never guesses: what no table has is reported unknown.
 *
 *   explain 0x3 0x7                      an mstsc pair: error code, extended error code (and the ERRINFO behind it)
 *   explain errinfo 0x19                 a code in one table (keywords below)
 *   explain ERRINFO_SERVER_DENIED_CONNECTION / server_denied_connection / HYBRID_REQUIRED_BY_SERVER
 *   explain 0xC000006E / -1073741714 / c000006e
 *   explain 7                            every table that has 7
 */
import { hex32, hexDec, type CodeEntry, type CodeTable } from './entry.js';
import { ERRINFO_CODES, ERRINFO_SECTION, errinfoEntry } from './errinfo.js';
import { ERRCONNECT_CODES, FREERDP_SOURCE, XFREERDP_EXIT_CODES, XFREERDP_SOURCE, freerdpEntry, xfreerdpExitEntry } from './freerdp.js';
import { LICENSE_ERROR_CODES, LICENSE_SECTION, LICENSE_STATE_TRANSITIONS, licenseErrorEntry, licenseStateEntry } from './license.js';
import {
  DISCONNECT_REASON_BY_SERVER,
  EXTENDED_PROTOCOL_RANGE_END,
  EXTENDED_PROTOCOL_RANGE_START,
  MSTSC_DISCONNECT_REASONS,
  MSTSC_EXTENDED_REASONS,
  mstscDisconnectEntry,
  mstscExtendedEntry,
  mstscPairFor,
} from './mstsc.js';
import { NEG_FAILURE_CODES, NEG_FAILURE_SECTION, negFailureEntry } from './neg-failure.js';
import { STATUS_CODES, STATUS_SECTION, statusEntry } from './status.js';

export interface ExplainResult {
  /** The word(s) this result answers, as given. */
  query: string;
  known: boolean;
  table?: CodeTable;
  /** 'ERRINFO', 'mstsc error code', … */
  tableTitle?: string;
  /** Where the table comes from ('MS-RDPBCGR 2.2.5.1.1'). */
  source?: string;
  entry?: CodeEntry;
  /** Links between results: for an mstsc pair, the ERRINFO the server sent and its stage. */
  notes: string[];
  /** For an unknown code: the sentence saying so. */
  message?: string;
}

interface TableInfo {
  id: CodeTable;
  title: string;
  source: string;
  entries: readonly CodeEntry[];
  /** Lookup when the user named this table. */
  lookup(code: number): CodeEntry | undefined;
  /** Lookup for a bare number: exact codes only (no protocol range, no short FreeRDP types). */
  bare(code: number): CodeEntry | undefined;
  /** Name prefixes a user may leave out, longest first. */
  prefixes: readonly string[];
  formatCode(code: number): string;
}

const exact = (entries: readonly CodeEntry[]) => {
  const m = new Map(entries.map((e) => [e.code, e] as const));
  return (code: number) => m.get(code >>> 0);
};

const hexPlain = (v: number) => `0x${v.toString(16).toUpperCase()}`;

export const CODE_TABLES: readonly TableInfo[] = [
  { id: 'errinfo', title: 'ERRINFO', source: ERRINFO_SECTION, entries: ERRINFO_CODES, lookup: errinfoEntry, bare: errinfoEntry, prefixes: ['ERRINFO_'], formatCode: hex32 },
  { id: 'mstsc-disconnect', title: 'mstsc error code (disconnectReason)', source: 'IMsTscAxEvents::OnDisconnected', entries: MSTSC_DISCONNECT_REASONS, lookup: mstscDisconnectEntry, bare: mstscDisconnectEntry, prefixes: ['DISCONNECTREASON', 'SSL_ERR_'], formatCode: hexDec },
  { id: 'mstsc-extended', title: 'mstsc extended error code (ExtendedDisconnectReasonCode)', source: 'ExtendedDisconnectReasonCode enumeration', entries: MSTSC_EXTENDED_REASONS, lookup: mstscExtendedEntry, bare: exact(MSTSC_EXTENDED_REASONS), prefixes: ['EXDISCREASON'], formatCode: (v) => `${hexPlain(v)} (${v})` },
  { id: 'neg-failure', title: 'RDP_NEG_FAILURE', source: NEG_FAILURE_SECTION, entries: NEG_FAILURE_CODES, lookup: negFailureEntry, bare: negFailureEntry, prefixes: [], formatCode: hex32 },
  { id: 'status', title: 'NTSTATUS / SSPI status', source: STATUS_SECTION, entries: STATUS_CODES, lookup: statusEntry, bare: statusEntry, prefixes: ['STATUS_', 'SEC_E_'], formatCode: hex32 },
  { id: 'license-error', title: 'licensing error code', source: `${LICENSE_SECTION} dwErrorCode`, entries: LICENSE_ERROR_CODES, lookup: licenseErrorEntry, bare: licenseErrorEntry, prefixes: ['STATUS_', 'ERR_'], formatCode: hex32 },
  { id: 'license-state', title: 'licensing state transition', source: `${LICENSE_SECTION} dwStateTransition`, entries: LICENSE_STATE_TRANSITIONS, lookup: licenseStateEntry, bare: licenseStateEntry, prefixes: ['ST_'], formatCode: hex32 },
  { id: 'freerdp', title: 'FreeRDP connect error', source: FREERDP_SOURCE, entries: ERRCONNECT_CODES, lookup: freerdpEntry, bare: exact(ERRCONNECT_CODES), prefixes: ['FREERDP_ERROR_CONNECT_', 'FREERDP_ERROR_', 'ERRCONNECT_'], formatCode: hex32 },
  { id: 'xfreerdp-exit', title: 'xfreerdp exit code', source: XFREERDP_SOURCE, entries: XFREERDP_EXIT_CODES, lookup: xfreerdpExitEntry, bare: xfreerdpExitEntry, prefixes: ['XF_EXIT_'], formatCode: (v) => `${v}` },
];

function table(id: CodeTable): TableInfo {
  return CODE_TABLES.find((t) => t.id === id)!;
}

/** Words that name a table; 'mstsc' takes a pair (or a single disconnect reason). */
const KEYWORDS: Record<string, CodeTable | 'mstsc'> = {
  errinfo: 'errinfo', 'error-info': 'errinfo', seterrorinfo: 'errinfo',
  mstsc: 'mstsc',
  disconnect: 'mstsc-disconnect', 'mstsc-disconnect': 'mstsc-disconnect', discreason: 'mstsc-disconnect', disconnectreason: 'mstsc-disconnect',
  extended: 'mstsc-extended', 'mstsc-extended': 'mstsc-extended', exdiscreason: 'mstsc-extended',
  neg: 'neg-failure', nego: 'neg-failure', 'neg-failure': 'neg-failure', negfailure: 'neg-failure', rdp_neg_failure: 'neg-failure',
  ntstatus: 'status', status: 'status', nt: 'status', sspi: 'status', sec: 'status', credssp: 'status', nla: 'status',
  license: 'license-error', licence: 'license-error', licensing: 'license-error', 'license-error': 'license-error',
  'license-state': 'license-state', state: 'license-state', transition: 'license-state', 'state-transition': 'license-state',
  freerdp: 'freerdp', errconnect: 'freerdp',
  'xfreerdp-exit': 'xfreerdp-exit', xfreerdp: 'xfreerdp-exit', 'xf-exit': 'xfreerdp-exit', exit: 'xfreerdp-exit', 'exit-code': 'xfreerdp-exit',
};

/** Strip what users paste around codes: "[0x00020009]", "0x3,", "(7)". */
function clean(word: string): string {
  return word.trim().replace(/^[[({'"]+|[\])}'",;:.]+$/g, '');
}

/** 0x-hex, decimal (negative for signed NTSTATUS), or 8 bare hex digits with a letter (c000006d). */
export function parseCode(word: string): number | undefined {
  const w = clean(word);
  let v: number | undefined;
  if (/^0x[0-9a-f]{1,8}$/i.test(w)) v = parseInt(w.slice(2), 16);
  else if (/^-?\d{1,10}$/.test(w)) v = Number(w);
  else if (/^[0-9a-f]{8}$/i.test(w) && /[a-f]/i.test(w)) v = parseInt(w, 16);
  if (v === undefined || !Number.isSafeInteger(v) || v > 0xffffffff || v < -0x80000000) return undefined;
  return v >>> 0;
}

function known(query: string, t: TableInfo, entry: CodeEntry, notes: string[] = []): ExplainResult {
  return { query, known: true, table: t.id, tableTitle: t.title, source: t.source, entry, notes };
}

function unknown(query: string, message: string, t?: TableInfo): ExplainResult {
  const r: ExplainResult = { query, known: false, notes: [], message };
  if (t) {
    r.table = t.id;
    r.tableTitle = t.title;
    r.source = t.source;
  }
  return r;
}

const ALL_TITLES = 'ERRINFO, mstsc codes, RDP_NEG_FAILURE, NTSTATUS/SSPI, licensing, FreeRDP, xfreerdp';

function stripPrefix(name: string, prefixes: readonly string[]): string {
  for (const p of prefixes) if (name.startsWith(p) && name.length > p.length) return name.slice(p.length);
  return name;
}

/** Case-insensitive; a table's prefix may be left out; a prefix given keeps the search inside its tables. */
function byName(word: string, only?: TableInfo): CodeEntry[] {
  const token = clean(word).toUpperCase().replace(/-/g, '_');
  if (!/^[A-Z][A-Z0-9_]*$/.test(token)) return [];
  const candidates = only ? [only] : CODE_TABLES;
  const owning = candidates.filter((t) => t.prefixes.some((p) => token.startsWith(p)));
  const search = owning.length > 0 ? owning : candidates;
  // A name given with its prefix means that exact code when one has it (STATUS_BAD_BINDINGS, not SEC_E_BAD_BINDINGS).
  if (owning.length > 0) {
    const exactHits = search.flatMap((t) => t.entries.filter((e) => [e.name, ...(e.aliases ?? [])].some((n) => n.toUpperCase() === token)));
    if (exactHits.length > 0) return exactHits;
  }
  const out: CodeEntry[] = [];
  for (const t of search) {
    const tokenCore = stripPrefix(token, t.prefixes);
    for (const e of t.entries) {
      const names = [e.name, ...(e.aliases ?? [])].map((n) => n.toUpperCase());
      const hit = names.some((n) => n === token || stripPrefix(n, t.prefixes) === tokenCore);
      if (hit && !out.includes(e)) out.push(e);
    }
  }
  return out;
}

function explainWord(word: string, only?: TableInfo): ExplainResult[] {
  const code = parseCode(word);
  if (code !== undefined) {
    if (only) {
      const e = only.lookup(code);
      return [e ? known(word, only, e) : unknown(word, `${only.title} ${only.formatCode(code)} is not a known code (${only.source}).`, only)];
    }
    const hits = CODE_TABLES.flatMap((t) => {
      const e = t.bare(code);
      return e ? [known(word, t, e)] : [];
    });
    return hits.length > 0 ? hits : [unknown(word, `${hex32(code)} (${code}) is not a code in any table (${ALL_TITLES}).`)];
  }
  const named = byName(word, only);
  if (named.length > 0) return named.map((e) => known(word, table(e.table), e));
  return [unknown(word, only ? `"${word}" is neither a number nor a name in the ${only.title} table (${only.source}).` : `"${word}" is neither a number nor a code name in any table (${ALL_TITLES}).`, only)];
}

/** mstsc's "error code X, extended error code Y", with the ERRINFO behind Y where the tables line up. */
function explainPair(query: string, disc: number, ext: number): ExplainResult[] {
  const out: ExplainResult[] = [];
  const d = mstscDisconnectEntry(disc);
  const dt = table('mstsc-disconnect');
  out.push(d ? known(query, dt, d) : unknown(query, `mstsc error code ${hexDec(disc)} is not listed for IMsTscAxEvents::OnDisconnected.`, dt));

  const xt = table('mstsc-extended');
  const x = mstscExtendedEntry(ext);
  if (!x) {
    out.push(unknown(query, `mstsc extended error code ${hexDec(ext)} is not in the ExtendedDisconnectReasonCode enumeration (0–12, 256–267, 768, 4096–32767).`, xt));
    return out;
  }
  const notes: string[] = [];
  const info = ext !== 0 && mstscPairFor(ext) ? errinfoEntry(ext) : undefined;
  if (ext === 0) notes.push('no extended reason: the server sent no Set Error Info PDU, or the client ended the connection');
  else if (info) notes.push(`the server sent Set Error Info ${info.name} (${hex32(ext)}) before disconnecting; stage ${info.stage ?? 'unknown'}`);
  else if (ext >= EXTENDED_PROTOCOL_RANGE_START && ext <= EXTENDED_PROTOCOL_RANGE_END) notes.push(`ERRINFO ${hex32(ext)} lies in the protocol range, but ${ERRINFO_SECTION} names no such code`);
  else notes.push(`${ERRINFO_SECTION} defines no ERRINFO ${hex32(ext)}, so no Set Error Info code is known for this extended reason`);
  if (info && disc !== DISCONNECT_REASON_BY_SERVER) notes.push(`an extended code taken from the server's ERRINFO comes with error code 0x3 (disconnect by server), not ${hexDec(disc)}`);
  out.push(known(query, xt, x, notes));
  if (info) out.push(known(query, table('errinfo'), info, [`mstsc shows this ERRINFO as error code 0x3, extended error code ${hexPlain(ext)}`]));
  return out;
}

/**
 * Explain the words of `rdp-probe explain …`. Two bare numbers are an mstsc pair (error code, extended error code);
 * a table keyword first limits the lookup to that table; otherwise every word is looked up on its own.
 */
export function explain(args: readonly string[]): ExplainResult[] {
  let words = args.map((a) => a.trim()).filter((a) => a.length > 0);
  // "0x3/0x7" or "0x3,0x7" in one word is the same pair.
  if (words.length === 1 && /^[^/,]+[/,][^/,]+$/.test(words[0]!)) words = words[0]!.split(/[/,]/);
  if (words.length === 0) return [unknown('', 'nothing to explain: give a code (0x7, 0xC000006D, 131) or a name (ERRINFO_SERVER_DENIED_CONNECTION).')];

  const keyword = KEYWORDS[words[0]!.toLowerCase()];
  if (keyword !== undefined && words.length > 1) {
    const rest = words.slice(1);
    if (keyword === 'mstsc') {
      const [a, b] = rest.map(parseCode);
      if (rest.length === 2 && a !== undefined && b !== undefined) return explainPair(rest.join(' '), a, b);
      return rest.flatMap((w) => explainWord(w, table('mstsc-disconnect')));
    }
    return rest.flatMap((w) => explainWord(w, table(keyword)));
  }

  if (words.length === 2) {
    const a = parseCode(words[0]!);
    const b = parseCode(words[1]!);
    if (a !== undefined && b !== undefined) return explainPair(words.join(' '), a, b);
  }
  return words.flatMap((w) => explainWord(w));
}

function list(label: string, items: readonly string[]): string[] {
  if (items.length === 0) return [];
  const pad = ' '.repeat(label.length);
  return items.map((it, i) => `${i === 0 ? label : pad}- ${it}`);
}

/** Plain text for the CLI: one block per result, blank line between blocks. */
export function formatExplain(results: readonly ExplainResult[]): string {
  const blocks = results.map((r) => {
    if (!r.known || !r.entry) return `unknown: ${r.message ?? `no entry for "${r.query}"`}`;
    const t = table(r.entry.table);
    const e = r.entry;
    const lines = [`${t.title} ${t.formatCode(e.code)} ${e.name}  [${t.source}]`];
    lines.push(`  stage:    ${e.stage ?? 'not tied to one stage'}`);
    lines.push(`  meaning:  ${e.meaning}`);
    lines.push(...list('  causes:   ', e.causes));
    lines.push(...list('  check:    ', e.checks));
    if (e.mstsc) lines.push(`  mstsc:    error code ${hexPlain(e.mstsc.disconnectReason)}, extended error code ${hexPlain(e.mstsc.extendedReason)}`);
    lines.push(...list('  see also: ', e.related ?? []));
    lines.push(...r.notes.map((n) => `  note:     ${n}`));
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}
