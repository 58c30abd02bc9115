// HTML renderer of the trace data layer and `tdxmc view FILE|REPLAY-STRING`: one self-contained
// page per counterexample (no network, no CDN; works from file://). The page's code is
// src/viewer/page.ts, compiled by `npm run build` (tsconfig.viewer.json) and inlined here with the
// trace as JSON.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { basename, delimiter, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSchedule, type Counterexample } from "../engine/index.js";
import { buildProgramWithModel, type BuiltModel } from "../kvm/index.js";
import { buildTrace } from "../trace/trace.js";
import type { TraceData, TraceProvenance } from "../trace/types.js";
import { cellProgram, guardProgram, type CellSpec } from "./cell.js";
import { checkOutputDir, checkOutputFile, readInput, showPath, tryWrite } from "./safe-input.js";
import { UsageError } from "./errors.js";
import { PROPERTY_INFO } from "./properties.js";
import { resolvedSwitches, VERSION, type Provenance } from "./provenance.js";
import { moduleVersionFor } from "../kvm/protocol.js";
import { SCENARIOS } from "../kvm/index.js";
import { expandSchedule, formatReplayRef } from "./replayspec.js";

/** XML 1.0 forbids these code points (C0 controls but tab, LF, CR; U+FFFE, U+FFFF; lone surrogates). */
// eslint-disable-next-line no-control-regex
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A code point XML 1.0 cannot carry, written out visibly instead ("\u0001"). */
export function xmlSafe(s: string): string {
  return s.replace(XML_FORBIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Text or attribute value for HTML and XML: markup characters escaped, forbidden code points written out. */
export function escapeMarkup(s: string): string {
  return xmlSafe(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** JSON that can sit inside <script>: no "</script", no "<!--", no line separators a parser could trip on. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The compiled page code (dist/src/viewer/page.js), next to this file when built, else in dist/. */
export function viewerAssetPath(): string {
  const cands = [new URL("../viewer/page.js", import.meta.url), new URL("../../dist/src/viewer/page.js", import.meta.url)];
  for (const u of cands) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return p;
  }
  throw new UsageError("the trace viewer's page code is not built (run npm run build)");
}

let asset: string | undefined;
function pageCode(): string {
  if (asset === undefined) {
    const code = readFileSync(viewerAssetPath(), "utf8");
    if (/<\/script|<!--/i.test(code)) throw new Error("viewer asset contains a script terminator");
    asset = code;
  }
  return asset;
}

/** The page: trace data as JSON plus the viewer's code, nothing loaded from anywhere. */
export function renderHtml(t: TraceData): string {
  const csp = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="tdxmc ${escapeMarkup(VERSION)}">`,
    `<title>${escapeMarkup(t.title)}</title>`,
    "</head>",
    "<body>",
    `<div id="app"><noscript>This page shows a tdxmc trace; it needs JavaScript (no network access).</noscript></div>`,
    `<script id="trace-data" type="application/json">${scriptJson(t)}</script>`,
    `<script type="module">${pageCode()}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

const describe = (p: string): { description: string; source: string } => {
  const i = PROPERTY_INFO.find((x) => x.name === p);
  return { description: i?.description ?? "", source: i?.source ?? "" };
};

function traceProvenance(p: Provenance): TraceProvenance {
  return { tdxmc: p.tdxmc, scenario: p.scenario, preset: p.preset, switches: p.switches, overrides: p.overrides, moduleVersion: p.moduleVersion, fingerprint: p.fingerprint };
}

function programOf(spec: CellSpec): { program: ReturnType<typeof cellProgram>; model: BuiltModel | null } {
  if (spec.kind === "demo") return { program: cellProgram(spec), model: null };
  const { program, model } = buildProgramWithModel(spec.scenario, spec.preset, spec.overrides, spec.build);
  return { program: guardProgram(program), model };
}

/** The trace of one counterexample of a cell (check --view, --format itf). */
export function cellTrace(spec: CellSpec, provenance: Provenance, cex: Counterexample, replay: string): TraceData {
  const { program, model } = programOf(spec);
  const label = spec.kind === "demo" ? `demo:${spec.demo}` : `${provenance.scenario} on ${provenance.preset}`;
  return buildTrace(program, model, parseSchedule(cex.schedule), {
    title: `${label}: violated ${cex.property}`,
    provenance: traceProvenance(provenance),
    replay,
    property: cex.property,
    describe,
  });
}

/** A trace from what `tdxmc replay` resolves (FILE or replay string). */
export function replayTrace(spec: CellSpec, label: string, schedule: string, fingerprint: string, property: string | undefined, replay: string | null): TraceData {
  const { program, model } = programOf(spec);
  const prov: TraceProvenance | null =
    spec.kind === "scenario"
      ? {
          tdxmc: VERSION,
          scenario: spec.scenario.name,
          preset: spec.preset,
          switches: resolvedSwitches(spec.scenario, spec.preset, spec.overrides),
          overrides: spec.overrides,
          moduleVersion: moduleVersionFor(spec.scenario.module?.version, spec.preset),
          fingerprint,
        }
      : { tdxmc: VERSION, scenario: label, preset: null, switches: {}, overrides: {}, moduleVersion: null, fingerprint };
  const t = buildTrace(program, model, parseSchedule(expandSchedule(schedule)), { title: label, provenance: prov, replay, ...(property ? { property } : {}), describe });
  if (t.violation) t.title = `${label}: violated ${t.violation.property}`;
  return t;
}

/** The replay string of what `replay` / `view` resolved (FILE, replay string, or TARGET SCHEDULE). */
export function replayString(args: readonly string[], r: { spec: CellSpec; schedule: string }, fingerprint: string): string {
  if (args.length === 1 && /:(v1|z1):/.test(args[0]!) && !existsSync(args[0]!)) return args[0]!;
  if (args.length === 1 && existsSync(args[0]!)) {
    // A counterexample file records the replay string check printed.
    try {
      const f = JSON.parse(readInput(args[0]!, "counterexample file")) as { replay?: unknown };
      if (typeof f.replay === "string") return f.replay;
    } catch {
      /* resolve() already read it; fall through */
    }
  }
  const s = r.spec;
  if (s.kind === "demo") return formatReplayRef({ target: `demo:${s.demo}`, overrides: {}, fingerprint, schedule: r.schedule });
  const mv = s.scenario.module?.version;
  const builtinMv = SCENARIOS[s.scenario.name]?.module?.version;
  return formatReplayRef({
    target: s.builtin ? s.scenario.name : s.source,
    preset: s.preset,
    overrides: s.overrides,
    ...(mv !== undefined && mv !== builtinMv ? { moduleVersion: mv } : {}),
    fingerprint,
    schedule: expandSchedule(r.schedule),
  });
}

/** Write a file through a temporary name (a reader never sees half a page); a failure is a UsageError naming it. */
export function writeAtomically(path: string, text: string, what: string): void {
  const e = tryWrite(path, () => text);
  if (e !== null) throw new UsageError(`${what}: cannot write ${showPath(path)} (${e})`);
}

export function ensureDir(dir: string, what: string): void {
  checkOutputDir(dir, what.replace(/^option /, ""));
}

/** A browser to open a page with: $BROWSER, or xdg-open / open when a display is there. Null: none. */
function findBrowser(): string | null {
  const fromEnv = process.env.BROWSER?.split(":")[0]?.trim();
  const onPath = (cmd: string): string | null => {
    if (cmd.includes("/")) return existsSync(cmd) ? cmd : null;
    for (const d of (process.env.PATH ?? "").split(delimiter)) if (d && existsSync(join(d, cmd))) return join(d, cmd);
    return null;
  };
  if (fromEnv) return onPath(fromEnv);
  if (process.platform === "darwin") return onPath("open");
  if (process.platform === "linux" && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) return onPath("xdg-open");
  return null;
}

export interface ViewOptions {
  out?: string;
  open?: boolean;
}

export type ReplayResolver = (arg: string) => { spec: CellSpec; label: string; schedule: string; fingerprint: string; property?: string; replay: string | null };

/** `tdxmc view FILE|REPLAY-STRING [--out page.html] [--open]`. */
export function runView(arg: string, o: ViewOptions, resolver: ReplayResolver, out: (s: string) => void): number {
  if (o.out !== undefined) checkOutputFile(o.out, "--out");
  const r = resolver(arg);
  const t = replayTrace(r.spec, r.label, r.schedule, r.fingerprint, r.property, r.replay);
  const name = existsSync(arg) && !/:(v1|z1):/.test(arg) ? basename(arg).replace(/\.json$/i, "") : `${r.label.replace(/ on /, "@")}${t.violation ? `.${t.violation.property}` : ""}`;
  const path = o.out ?? `${name.replace(/[^A-Za-z0-9@+=,._-]/g, "_")}.html`;
  writeAtomically(path, renderHtml(t), "view");
  const abs = resolvePath(path);
  out(`${abs}\n`);
  if (o.open) {
    const b = findBrowser();
    if (!b) out(`no browser found to open it (set BROWSER); open ${abs} yourself\n`);
    else {
      const child = spawn(b, [abs], { detached: true, stdio: "ignore" });
      child.on("error", () => undefined);
      child.unref();
    }
  }
  return 0;
}

/** check --view DIR: one page per counterexample; returns the files written. */
export function writeViews(dir: string, pages: { file: string; trace: TraceData }[]): string[] {
  ensureDir(dir, "option --view");
  const out: string[] = [];
  for (const p of pages) {
    const path = join(dir, p.file);
    writeAtomically(path, renderHtml(p.trace), "option --view");
    out.push(path);
  }
  return out;
}

