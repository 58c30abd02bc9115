// SVG line charts, written by hand: one metric against the sweep's x (vCPUs or pages), one line per
// protocol, with axes, ticks, units and a legend. Fixed number formatting and no timestamps, so the
// same data gives the same bytes.
import type { SimResult } from "./run.js";
import { protocolOf } from "./report.js";
import type { SweepResult } from "./sweep.js";
import type { WorkloadKind } from "./workloads.js";

export interface Metric {
  id: string;
  title: string;
  unit: string;
  /** Value in the unit (already divided). */
  get(r: SimResult): number;
}

const opOf: Record<WorkloadKind, string> = { boot: "fault", faults: "fault", conversion: "convert", "punch-hole": "punch", teardown: "teardown" };

/** Unit of metrics measured in ns: the chart picks ns, us, ms or s from the largest value. */
const TIME = "time";

function timeUnit(maxNs: number): [string, number] {
  if (maxNs >= 1e10) return ["s", 1e9];
  if (maxNs >= 1e7) return ["ms", 1e6];
  if (maxNs >= 1e4) return ["us", 1e3];
  return ["ns", 1];
}

export function metricsFor(kind: WorkloadKind): Metric[] {
  const op = opOf[kind];
  const out: Metric[] = [
    { id: "time", title: "Time to complete the workload", unit: TIME, get: (r) => r.timeNs },
    { id: "pages-per-s", title: "Throughput", unit: "pages/s", get: (r) => r.pagesPerSec },
    { id: `${op}-p99`, title: `${op} latency, p99`, unit: TIME, get: (r) => r.latency[op]?.p99 ?? 0 },
    { id: "busy", title: "TDX_OPERAND_BUSY results (all leaves)", unit: "count", get: (r) => Object.values(r.busy).reduce((a, b) => a + b, 0) },
    { id: "retries", title: "Fault retries (RET_PF_RETRY, local retry loop)", unit: "count", get: (r) => r.retries },
    { id: "mmu-write-hold", title: "mmu_lock held for write (sum)", unit: TIME, get: (r) => r.mmuLock.writeHoldNs },
    { id: "module-time", title: "Time in the TDX module (sum over threads)", unit: TIME, get: (r) => r.moduleNs },
  ];
  if (kind === "boot" || kind === "faults") out.push({ id: "faults-per-s", title: "Fault throughput", unit: "faults/s", get: (r) => r.faultsPerSec });
  if (kind === "faults") out.push({ id: "zero-step", title: "VP.ENTER stepping-filter runs (zero-step armed)", unit: "count", get: (r) => r.zeroStep });
  return out;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const DASH = ["", "6 3", "2 3", "8 3 2 3", "", "6 3", "2 3", "8 3 2 3"];

/** 1, 2, 5 x 10^k ticks covering [0, max]. */
function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1]! < max) out.push(Number((out[out.length - 1]! + step).toPrecision(12)));
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f1 = (x: number): string => x.toFixed(1);

/** One chart: metric `m` for workload `kind` of the sweep. */
export function chartSvg(sr: SweepResult, kind: WorkloadKind, m: Metric): string {
  const s = sr.sweep;
  // Points past the model's size caps have no figures to draw.
  const rows = sr.results.filter((r) => r.workload.kind === kind && r.end !== "model-limit");
  const protos = s.protocols.map((p) => p.label);
  const xsRaw = s.xs;
  const logX = xsRaw.length > 2 && Math.min(...xsRaw) > 0 && Math.max(...xsRaw) / Math.min(...xsRaw) >= 8;
  const W = 640;
  const H = 400;
  const L = 80;
  const R = 170;
  const T = 40;
  const B = 60;
  const pw = W - L - R;
  const ph = H - T - B;
  const xv = (x: number): number => (logX ? Math.log2(x) : x);
  const x0 = xv(Math.min(...xsRaw));
  const x1 = xv(Math.max(...xsRaw));
  const X = (x: number): number => L + (x1 === x0 ? pw / 2 : ((xv(x) - x0) / (x1 - x0)) * pw);
  const [unit, div] = m.unit === TIME ? timeUnit(Math.max(0, ...rows.map((r) => m.get(r)))) : [m.unit, 1];
  const get = (r: SimResult): number => m.get(r) / div;
  const vals = rows.map(get);
  const ticks = niceTicks(Math.max(0, ...vals));
  const ymax = ticks[ticks.length - 1]!;
  const Y = (y: number): number => T + ph - (ymax > 0 ? (y / ymax) * ph : 0);
  const ext = rows.some((r) => r.extrapolated);
  const xLabel = s.x === "vcpus" ? `vCPUs${logX ? " (log scale)" : ""}` : `pages (4 KiB)${logX ? ", log scale" : ""}`;
  const pg = s.pages ?? 25;
  const fixed = s.x === "vcpus" ? (pg >= 262_144 && pg % 262_144 === 0 ? `${pg / 262_144} GiB` : `${pg} pages`) : `${s.vcpus ?? 4} vCPUs`;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(`${m.title}: ${kind}, ${fixed}`)}</text>`);
  o.push(`<text x="${W / 2}" y="33" text-anchor="middle" fill="#555555">${esc(`tdxmc simulate, sweep ${s.name}, seed ${sr.seed}${ext ? ", extrapolated from 9-25-page samples" : ""}`)}</text>`);
  // Axes and grid.
  for (const t of ticks) {
    const y = f1(Y(t));
    o.push(`<line x1="${L}" y1="${y}" x2="${L + pw}" y2="${y}" stroke="#e0e0e0"/>`);
    o.push(`<text x="${L - 6}" y="${f1(Y(t) + 4)}" text-anchor="end">${fmtTick(t)}</text>`);
  }
  for (const x of xsRaw) {
    const px = f1(X(x));
    o.push(`<line x1="${px}" y1="${T + ph}" x2="${px}" y2="${T + ph + 5}" stroke="#000000"/>`);
    o.push(`<text x="${px}" y="${T + ph + 18}" text-anchor="middle">${fmtTick(x)}</text>`);
  }
  o.push(`<line x1="${L}" y1="${T + ph}" x2="${L + pw}" y2="${T + ph}" stroke="#000000"/>`);
  o.push(`<line x1="${L}" y1="${T}" x2="${L}" y2="${T + ph}" stroke="#000000"/>`);
  o.push(`<text x="${L + pw / 2}" y="${H - 15}" text-anchor="middle">${esc(xLabel)}</text>`);
  o.push(`<text x="18" y="${T + ph / 2}" text-anchor="middle" transform="rotate(-90 18 ${T + ph / 2})">${esc(unit)}</text>`);
  // Lines.
  protos.forEach((p, i) => {
    const pts = rows.filter((r) => protocolOf(r) === p).map((r) => [X(s.x === "vcpus" ? r.workload.vcpus : r.workload.pages), Y(get(r))] as const);
    if (pts.length === 0) return;
    const c = COLORS[i % COLORS.length]!;
    const dash = DASH[i % DASH.length]!;
    o.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${pts.map(([x, y]) => `${f1(x)},${f1(y)}`).join(" ")}"/>`);
    for (const [x, y] of pts) o.push(`<circle cx="${f1(x)}" cy="${f1(y)}" r="3" fill="${c}"/>`);
    // Legend.
    const ly = T + 10 + i * 20;
    o.push(`<line x1="${L + pw + 15}" y1="${ly}" x2="${L + pw + 45}" y2="${ly}" stroke="${c}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
    o.push(`<text x="${L + pw + 50}" y="${ly + 4}">${esc(p)}</text>`);
  });
  o.push(`</svg>`);
  return o.join("\n") + "\n";
}

/** Every chart of a sweep: file name -> SVG text, in a fixed order. */
export function chartsOf(sr: SweepResult): [string, string][] {
  const out: [string, string][] = [];
  for (const kind of sr.sweep.workloads)
    for (const m of metricsFor(kind)) out.push([`${sr.sweep.name}-${kind}-${m.id}.svg`, chartSvg(sr, kind, m)]);
  return out;
}
