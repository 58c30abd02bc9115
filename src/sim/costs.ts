// Cost files: the YAML shape (checked by the scenario files' validator, with file:line errors),
// loading, and the resolved cost model the simulation uses.
import { readFileSync, statSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { checkAgainstSchema, locateInDocument, type Problem, type S } from "../cli/scenario-file.js";
import { UsageError } from "../cli/errors.js";
import { DEFAULT_COSTS_YAML } from "./default-costs.js";

const BASES = ["measured", "derived", "assumed"] as const;
export type Basis = (typeof BASES)[number];

const basis: S = { t: "string", enum: BASES, desc: "measured (with source), derived (arithmetic shown in source) or assumed" };
const source: S = { t: "string", desc: "where the figure comes from (required unless assumed)" };
const num = (desc: string): S => ({ t: "int", min: 0, desc });
const valued = (desc: string, v: S = num(desc)): S => ({ t: "object", required: ["value", "basis"], props: { value: v, basis, source } });

/** Numbers that are not integers (probabilities, jitter) are checked by `fraction` below, after the shape. */
const fractionLike: S = { t: "object", required: ["value", "basis"], props: { value: { t: "either", options: [{ t: "int", min: 0, max: 1 }, { t: "string" }] }, basis, source } };

export const COSTS_SCHEMA: S = {
  t: "object",
  desc: "A tdxmc cost model.",
  required: ["format"],
  props: {
    format: { t: "string", enum: ["tdxmc-costs/1"], desc: "format tag" },
    cpu: {
      t: "object",
      props: { cpus: valued("physical CPUs (0 = one per thread)"), slice: valued("time slice, ns"), handoff: valued("lock hand-off latency, ns"), jitter: fractionLike },
    },
    seamcall: {
      t: "record",
      desc: "per leaf: ok / busy cost in ns",
      values: { t: "object", required: ["ok", "busy", "basis"], props: { ok: num("ns when the call does its work"), busy: num("ns when it fails with TDX_OPERAND_BUSY"), basis, source } },
    },
    kvm: {
      t: "object",
      props: {
        step: valued("ns of any other KVM-side step"),
        rules: { t: "array", items: { t: "object", required: ["match", "value", "basis"], props: { match: { t: "string", desc: "substring of the step label" }, value: num("ns"), basis, source } } },
      },
    },
    kick: { t: "object", props: { base: valued("ns"), "per-vcpu": valued("ns per vCPU") } },
    guest: { t: "object", props: { think: valued("ns of guest time between accesses") } },
    probabilities: { t: "record", keys: ["inject-busy", "zap-yield", "events", "accept-interrupt", "hp-timeout"], values: fractionLike },
  },
};

export interface Figure {
  value: number;
  basis: Basis;
  source?: string;
}

export interface CostModel {
  cpus: number;
  slice: number;
  handoff: number;
  jitter: number;
  seamcall: Map<string, { ok: number; busy: number; basis: Basis; source?: string }>;
  kvmStep: number;
  rules: { match: string; value: number; basis: Basis; source?: string }[];
  kickBase: number;
  kickPerVcpu: number;
  think: number;
  prob: Record<"inject-busy" | "zap-yield" | "events" | "accept-interrupt" | "hp-timeout", number>;
  /** Every figure with its label, for printing (`--print-costs`, provenance). */
  figures: { key: string; value: number; basis: Basis; source?: string }[];
}

interface FileProblem {
  line: number;
  col: number;
  message: string;
}

function toNumber(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

/** Parse and validate a cost file's text: its document, or a UsageError naming file:line:col and the first problem. */
function validate(text: string, file: string): Record<string, unknown> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const fail = (p: FileProblem, more = 0): never => {
    throw new UsageError(`${file}:${p.line}:${p.col}: ${p.message}${more > 0 ? ` (and ${more} more problem(s))` : ""}`);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    fail({ line: pos.line, col: pos.col, message: `YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}` });
  }
  const raw = doc.toJS() as unknown;
  // The shared validator knows integers only: fractions are checked as strings, then as numbers.
  const js = fractionsAsStrings(raw);
  const problems: Problem[] = [];
  checkAgainstSchema(COSTS_SCHEMA, js, [], problems);
  if (problems.length === 0) problems.push(...semantic(js as Record<string, unknown>));
  if (problems.length > 0) {
    const located = problems.map((p) => ({ ...locateInDocument(doc, lc, p.path), message: p.message }));
    located.sort((a, b) => a.line - b.line || a.col - b.col);
    fail(located[0]!, located.length - 1);
  }
  return raw as Record<string, unknown>;
}

/** A cost file's text on top of the defaults (what it does not name keeps its default). */
export function parseCosts(text: string, file: string): CostModel {
  return resolve(validate(text, file), defaults());
}

function fractionsAsStrings(v: unknown): unknown {
  if (typeof v === "number" && !Number.isInteger(v)) return String(v);
  if (Array.isArray(v)) return v.map(fractionsAsStrings);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fractionsAsStrings(x)]));
  return v;
}

function semantic(d: Record<string, unknown>): Problem[] {
  const out: Problem[] = [];
  const visit = (v: unknown, path: (string | number)[]): void => {
    if (v === null || typeof v !== "object") return;
    if (Array.isArray(v)) return v.forEach((x, i) => visit(x, [...path, i]));
    const o = v as Record<string, unknown>;
    if ("basis" in o && o.basis !== "assumed" && (typeof o.source !== "string" || o.source.trim() === ""))
      out.push({ path: [...path, "basis"], message: `${path.join(".")}: a ${String(o.basis)} figure needs a source` });
    for (const [k, x] of Object.entries(o)) visit(x, [...path, k]);
  };
  visit(d, []);
  const frac = (path: (string | number)[], v: unknown, max: number): void => {
    const n = toNumber(v);
    if (!Number.isFinite(n) || n < 0 || n > max) out.push({ path, message: `${path.join(".")}: ${String(v)} is not a number in [0, ${max}]` });
  };
  const cpu = d.cpu as Record<string, { value: unknown }> | undefined;
  if (cpu?.jitter) frac(["cpu", "jitter", "value"], cpu.jitter.value, 0.9);
  for (const [k, p] of Object.entries((d.probabilities ?? {}) as Record<string, { value: unknown }>)) frac(["probabilities", k, "value"], p.value, 1);
  return out;
}

function resolve(d: Record<string, unknown>, base: CostModel | null): CostModel {
  const figures: CostModel["figures"] = base ? base.figures.slice() : [];
  const put = (key: string, f: Figure): number => {
    const i = figures.findIndex((x) => x.key === key);
    const row = { key, value: f.value, basis: f.basis, ...(f.source ? { source: f.source } : {}) };
    if (i >= 0) figures[i] = row;
    else figures.push(row);
    return f.value;
  };
  const fig = (o: unknown): Figure => {
    const x = o as { value: unknown; basis: Basis; source?: string };
    return { value: toNumber(x.value), basis: x.basis, ...(x.source ? { source: x.source } : {}) };
  };
  const cpu = (d.cpu ?? {}) as Record<string, unknown>;
  const kvm = (d.kvm ?? {}) as { step?: unknown; rules?: { match: string; value: number; basis: Basis; source?: string }[] };
  const kick = (d.kick ?? {}) as Record<string, unknown>;
  const guest = (d.guest ?? {}) as Record<string, unknown>;
  const probs = (d.probabilities ?? {}) as Record<string, unknown>;
  const m: CostModel = base ?? {
    cpus: 0,
    slice: 3_000_000,
    handoff: 100,
    jitter: 0,
    seamcall: new Map(),
    kvmStep: 20,
    rules: [],
    kickBase: 0,
    kickPerVcpu: 0,
    think: 0,
    prob: { "inject-busy": 0, "zap-yield": 0, events: 0, "accept-interrupt": 0, "hp-timeout": 0 },
    figures,
  };
  const out: CostModel = { ...m, seamcall: new Map(m.seamcall), rules: m.rules.slice(), prob: { ...m.prob }, figures };
  if (cpu.cpus) out.cpus = put("cpu.cpus", fig(cpu.cpus));
  if (cpu.slice) out.slice = put("cpu.slice", fig(cpu.slice));
  if (cpu.handoff) out.handoff = put("cpu.handoff", fig(cpu.handoff));
  if (cpu.jitter) out.jitter = put("cpu.jitter", fig(cpu.jitter));
  for (const [leaf, v] of Object.entries((d.seamcall ?? {}) as Record<string, { ok: number; busy: number; basis: Basis; source?: string }>)) {
    out.seamcall.set(leaf, v);
    put(`seamcall.${leaf}.ok`, { value: v.ok, basis: v.basis, ...(v.source ? { source: v.source } : {}) });
    put(`seamcall.${leaf}.busy`, { value: v.busy, basis: v.basis, ...(v.source ? { source: v.source } : {}) });
  }
  if (kvm.step) out.kvmStep = put("kvm.step", fig(kvm.step));
  if (kvm.rules) {
    out.rules = kvm.rules.map((r) => ({ ...r }));
    for (let i = figures.length - 1; i >= 0; i--) if (figures[i]!.key.startsWith("kvm.rules.")) figures.splice(i, 1);
    for (const r of out.rules) put(`kvm.rules.${r.match}`, r);
  }
  if (kick.base) out.kickBase = put("kick.base", fig(kick.base));
  if (kick["per-vcpu"]) out.kickPerVcpu = put("kick.per-vcpu", fig(kick["per-vcpu"]));
  if (guest.think) out.think = put("guest.think", fig(guest.think));
  for (const [k, v] of Object.entries(probs)) out.prob[k as keyof CostModel["prob"]] = put(`probabilities.${k}`, fig(v));
  return out;
}

let defaultModel: CostModel | null = null;

/** The default cost model (DEFAULT_COSTS_YAML, checked like any cost file). */
export function defaults(): CostModel {
  defaultModel ??= resolve(validate(DEFAULT_COSTS_YAML, "<default costs>"), null);
  return defaultModel;
}

/** Largest cost file read (a cost model is a few KiB). */
const MAX_COST_FILE = 1 << 20;

/** Load `--costs FILE` (a regular file, at most 1 MiB) or throw a one-line UsageError. */
export function loadCosts(file: string): CostModel {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UsageError(`${file}: not a regular file`);
    if (st.size > MAX_COST_FILE) throw new UsageError(`${file}: ${st.size} bytes; a cost file is at most ${MAX_COST_FILE} bytes`);
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseCosts(text, file);
}

/** The cost of a leaf call: `ok` or `busy`, falling back to the 'default' entry. */
export function leafCost(m: CostModel, leaf: string, busy: boolean): number {
  const e = m.seamcall.get(leaf) ?? m.seamcall.get("default");
  if (!e) return 0;
  return busy ? e.busy : e.ok;
}
