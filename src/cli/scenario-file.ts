// Scenario files (YAML): THE validator. `validate` and `check` (and any other command that reads a
// scenario file: simulate, view) MUST go through parseScenarioText / loadScenarioFile, so that a
// file `validate` accepts is one `check` runs, and the reverse.
//
// One schema description drives both the validator (which reports the line of the offending node)
// and the published JSON Schema (schema/scenario.schema.json, for editors; a test checks that ajv
// on the published schema accepts and rejects the same documents). After the shape is checked, the
// meaning is: known presets, switches and their values, properties, GFNs inside the geometry, vCPU
// indices, unique thread names, known SEAMCALLs in `inject`, and finally the model itself is built
// under every preset the file applies to, so that whatever the model refuses is refused here, with
// the line of the file. Extend SCENARIO_SCHEMA (and `semantic`) when the model grows a field.
import { isMap, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import { STRATEGIES, Symmetry, SymmetryError, type StrategyName } from "../engine/index.js";
import { buildProgram, KVM_PROPERTIES, PRESETS, SWITCHES, symmetryGenerators, type Scenario } from "../kvm/index.js";
import { UsageError } from "./errors.js";
import { hasOwn, quote, readInput, showPath, suggest } from "./safe-input.js";

// ---- schema description -------------------------------------------------------------------------

export type S =
  | { t: "string"; enum?: readonly string[]; desc?: string; pattern?: string }
  | { t: "int"; min?: number; max?: number; desc?: string }
  | { t: "bool"; desc?: string }
  | { t: "array"; items: S; desc?: string; minItems?: number }
  | { t: "object"; props: Record<string, S>; required?: readonly string[]; desc?: string; refused?: Record<string, string> }
  | { t: "record"; keys?: readonly string[]; values: S; desc?: string }
  /** Objects told apart by the string value of `tag`. */
  | { t: "tagged"; tag: string; variants: Record<string, { props: Record<string, S>; required?: readonly string[] }>; desc?: string }
  /** A string literal or an object (an expected verdict: "verified" or {violated: P}). */
  | { t: "either"; options: readonly S[]; desc?: string };

const int = (min?: number, max?: number, desc?: string): S => ({ t: "int", ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}), ...(desc ? { desc } : {}) });
const str = (desc?: string, e?: readonly string[]): S => ({ t: "string", ...(e ? { enum: e } : {}), ...(desc ? { desc } : {}) });

const PRESET_NAMES = Object.keys(PRESETS);

/**
 * The SEAMCALLs the model issues (src/kvm: every `seamcall(c, NAME, ...)`), the names `inject`
 * accepts, also as the wrapper's name (tdh_mem_page_aug). test/cli/robust.test.ts checks that the
 * list covers the model's calls.
 */
export const SEAMCALLS: readonly string[] = [
  "TDH.MEM.PAGE.ADD",
  "TDH.MEM.PAGE.AUG",
  "TDH.MEM.PAGE.REMOVE",
  "TDH.MEM.RANGE.BLOCK",
  "TDH.MEM.SEPT.ADD",
  "TDH.MEM.TRACK",
  "TDH.MNG.KEY.FREEID",
  "TDH.MNG.VPFLUSHDONE",
  "TDH.MR.EXTEND",
  "TDH.MR.FINALIZE",
  "TDH.PHYMEM.PAGE.RECLAIM",
  "TDH.PHYMEM.PAGE.WBINVD",
  "TDH.VP.FLUSH",
  "TDH.VP.INIT",
];
const wrapperName = (n: string): string => n.toLowerCase().replace(/\./g, "_");
const PROPERTY_NAMES = [...KVM_PROPERTIES, "assertion"];
const TDX_VERSIONS = ["1.0", "1.5.16", "1.5.20", "1.5.25"] as const;

const gfn = int(0, undefined, "guest frame number (inside the geometry)");
// Any text: whoever prints a name escapes it (safe-input.ts safeText, view.ts escapeMarkup).
const name = str("thread name (default: vCPU<n>, zapper, or <kind><index>)");
const range = { start: int(0, undefined, "first GFN"), end: int(1, undefined, "one past the last GFN") };

export const SCENARIO_SCHEMA: S = {
  t: "object",
  desc: "A tdxmc scenario: initial state, threads, protocol, properties, expected verdicts.",
  required: ["name", "threads"],
  props: {
    name: { t: "string", pattern: "^[a-z0-9][a-z0-9._-]*$", desc: "scenario name (lower case, digits, . _ -)" },
    description: str("what the scenario shows"),
    geometry: { t: "object", desc: "paging geometry (default 3 levels x fan-out 2)", required: ["levels", "fanout"], props: { levels: int(2, 5), fanout: int(1, 8) } },
    initial: {
      t: "object",
      desc: "initial state",
      props: {
        td: str("TD built and runnable (default) or still being built", ["runnable", "building"]),
        tables: { t: "array", desc: "mirror tables (and their S-EPT pages) already linked", items: { t: "object", required: ["level", "gfn"], props: { level: int(1, 4, "KVM level of the table"), gfn } } },
        leaves: { t: "array", desc: "private 4K pages mapped in the mirror and the S-EPT", items: { t: "object", required: ["gfn"], props: { gfn, state: str("PENDING = AUGed, not yet accepted", ["MAPPED", "PENDING"]) } } },
        shared: { t: "array", desc: "GFNs whose attribute is shared", items: gfn },
        vcpusInitialized: { t: "bool", desc: "TDH.VP.INIT already done (default true)" },
        otherTd: { t: "array", desc: "PFNs another TD has mapped at the start (Dynamic PAMT: they share 2M ranges with this TD's pages)", items: int(0, undefined, "physical frame number") },
        pamtPairRange: int(0, undefined, "Dynamic PAMT: the 2M range in which the pages for PAMT pairs lie (PAMT.ADD and DEMOTE walk it SH)"),
        hugeFolios: { t: "array", desc: "S-EPT huge pages: base GFNs of 2M blocks guest_memfd backs with one 2M folio", items: gfn },
        hugeLeaves: {
          t: "array",
          desc: "S-EPT huge pages: 2M blocks mapped at the start (one 2M leaf with hugepage=on, 4K leaves on every other preset)",
          items: { t: "object", required: ["gfn"], props: { gfn, state: str("PENDING = AUGed, not yet accepted", ["MAPPED", "PENDING"]) } },
        },
      },
    },
    threads: {
      t: "array",
      minItems: 1,
      desc: "the threads, each one flow",
      items: {
        t: "tagged",
        tag: "kind",
        variants: {
          fault: { required: ["vcpu", "gfn"], props: { name, vcpu: int(0, 7), gfn, events: { t: "bool", desc: "pending events/signals may end the local retry loop" } } },
          vcpu: {
            required: ["vcpu", "actions"],
            props: {
              name,
              vcpu: int(0, 7),
              actions: { t: "array", minItems: 1, items: { t: "object", required: ["op", "gfn"], props: { op: str("guest action", ["access", "accept"]), gfn, size: str("accept: TDG.MEM.PAGE.ACCEPT level (2M: the block of gfn, falling back to 4K on TDX_PAGE_SIZE_MISMATCH)", ["4K", "2M"]) } } },
            },
          },
          zap: { required: ["start", "end"], props: { name, ...range, slotsLock: { t: "bool", desc: "hold kvm->slots_lock around the zap, as the ioctls that zap upstream do (memslot update, KVM_SET_MEMORY_ATTRIBUTES); default false" } } },
          "set-attributes": { required: ["start", "end", "to"], props: { name, ...range, to: str("new attribute", ["private", "shared"]) } },
          "punch-hole": { required: ["start", "end"], props: { name, ...range } },
          "memslot-delete": { props: { name } },
          "init-mem-region": { required: ["gfn"], props: { name, gfn } },
          "vp-init": { required: ["vcpu"], props: { name, vcpu: int(0, 7) } },
          teardown: { props: { name } },
          finalize: { props: { name } },
          "pre-fault": { required: ["vcpu", "gfn"], props: { name, vcpu: int(0, 7), gfn } },
          "other-td": { required: ["pfn", "op"], props: { name, pfn: int(0, undefined, "physical frame number"), op: str("map or unmap the page in the other TD", ["map", "unmap"]) } },
        },
      },
    },
    protocol: {
      t: "either",
      desc: "preset(s) to check under (default: every preset)",
      options: [str(undefined, PRESET_NAMES), { t: "array", minItems: 1, items: str(undefined, PRESET_NAMES) }],
    },
    overrides: { t: "record", keys: SWITCHES.map((s) => s.id), values: str("switch value"), desc: "switch overrides applied on top of the preset" },
    module: { t: "object", desc: "TDX module", props: { version: str("module version (default: the preset's, else 1.5.25)", TDX_VERSIONS), zeroStepThreshold: int(0, 64, "STEPPING_EPF_THRESHOLD"), pendingVeDisable: { t: "bool", desc: "TD attribute SEPT_VE_DISABLE: a guest access to an unaccepted page kills the TD (kvm_vm_dead) instead of raising #VE" }, enhancedDemote: { t: "bool", desc: "TDX_FEATURES0.ENHANCE_DEMOTE_INTERRUPTIBILITY (default true): false lets a host interrupt make DEMOTE/PROMOTE return TDX_INTERRUPTED_RESTARTABLE" } } },
    inject: {
      t: "array",
      desc: "SEAMCALLs into which the environment may inject TDX_OPERAND_BUSY (TDH.MEM.PAGE.AUG or tdh_mem_page_aug)",
      items: { t: "string", pattern: "^(TDH\\.[A-Z.]+|tdh_[a-z_]+)$" },
    },
    zapYields: { t: "bool", desc: "write-lock zap loops may drop and re-take mmu_lock between GFNs (default false)" },
    properties: { t: "array", minItems: 1, desc: "properties checked (default: all; an empty list would check nothing)", items: str(undefined, PROPERTY_NAMES) },
    witnesses: { t: "array", desc: "step-label substrings that must be reached (else the verification is vacuous)", items: str() },
    expected: {
      t: "record",
      keys: PRESET_NAMES,
      desc: "expected verdict per preset",
      values: { t: "either", options: [str(undefined, ["verified"]), { t: "object", required: ["violated"], props: { violated: str(undefined, PROPERTY_NAMES) } }] },
    },
    why: { t: "record", keys: PRESET_NAMES, values: str("reason"), desc: "why each expected verdict holds (the upstream fix or mail for a violation, the reason for verified)" },
    strategy: str("exploration strategy", STRATEGIES),
    symmetry: {
      t: "array",
      minItems: 1,
      desc: "interchangeable threads (symmetry reduction of the cache strategy; checked, a wrong declaration is refused): each entry is one generator, its threads a cycle (each becomes the next, the last the first), their vCPUs and per-vCPU state renamed with them, and with `gfns` their GFNs and everything derived from them",
      items: {
        t: "object",
        required: ["threads"],
        props: {
          threads: { t: "array", minItems: 2, items: str("thread name"), desc: "thread names: each becomes the next, the last the first" },
          cycles: { t: "array", items: { t: "array", minItems: 2, items: str("thread name") }, desc: "further thread cycles of the same generator (e.g. two pairs exchanged at once with a subtree of GFNs)" },
          gfns: { t: "record", values: int(0, undefined, "GFN"), desc: "GFN renaming (key: GFN; default each to itself): a permutation that maps the GFNs under one table at every level to the GFNs under one table; PFNs, tables, S-EPT and PAMT entries follow (src/kvm/symmetry.ts)" },
        },
      },
    },
    bounds: {
      t: "object",
      desc: "exploration bounds (command-line options override them)",
      props: {
        preemptions: int(0),
        seed: int(0),
        maxExecutions: int(1),
        maxStates: int(1),
        maxSteps: int(1, undefined, "steps in one execution"),
        maxGraphEdges: int(1, undefined, "state-graph edges"),
        maxMemoryMb: int(1, undefined, "counted: stored states x bytes per state"),
      },
      refused: {
        timeLimit: "a time limit is not part of a scenario (a verdict must not depend on the machine); give --time-limit on the command line, or a counted bound (maxExecutions, maxStates, maxSteps)",
      },
    },
  },
};

// ---- JSON Schema ---------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function toJson(s: S): { [k: string]: Json } {
  const d: { [k: string]: Json } = s.desc ? { description: s.desc } : {};
  switch (s.t) {
    case "string":
      return { type: "string", ...d, ...(s.enum ? { enum: [...s.enum] } : {}), ...(s.pattern ? { pattern: s.pattern } : {}) };
    case "int":
      // Every integer is at most 2^53-1: a larger one would be silently rounded by a JSON or YAML reader.
      return { type: "integer", ...d, ...(s.min !== undefined ? { minimum: s.min } : {}), maximum: s.max ?? Number.MAX_SAFE_INTEGER };
    case "bool":
      return { type: "boolean", ...d };
    case "array":
      return { type: "array", ...d, ...(s.minItems ? { minItems: s.minItems } : {}), items: toJson(s.items) };
    case "object":
      return {
        type: "object",
        ...d,
        properties: Object.fromEntries(Object.entries(s.props).map(([k, v]) => [k, toJson(v)])),
        ...(s.required?.length ? { required: [...s.required] } : {}),
        additionalProperties: false,
      };
    case "record":
      return { type: "object", ...d, ...(s.keys ? { propertyNames: { enum: [...s.keys] } } : {}), additionalProperties: toJson(s.values) };
    case "tagged":
      return {
        ...d,
        oneOf: Object.entries(s.variants).map(([tag, v]) =>
          toJson({ t: "object", props: { [s.tag]: { t: "string", enum: [tag] }, ...v.props }, required: [s.tag, ...(v.required ?? [])] }),
        ),
      };
    case "either":
      return { ...d, oneOf: s.options.map(toJson) };
  }
}

/** The published JSON Schema (schema/scenario.schema.json). */
export function scenarioJsonSchema(): { [k: string]: Json } {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/tdxmc/tdxmc/schema/scenario.schema.json",
    title: "tdxmc scenario",
    ...toJson(SCENARIO_SCHEMA),
  };
}

// ---- validation ------------------------------------------------------------------------------------

export interface Problem {
  path: (string | number)[];
  message: string;
}

const kindOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "a mapping" : typeof v === "string" ? quote(v) : quote(String(v)).slice(1, -1));

function check(s: S, v: unknown, path: (string | number)[], out: Problem[]): void {
  const bad = (message: string, p = path): void => void out.push({ path: p, message });
  const where = path.length ? path.map((p) => (typeof p === "number" ? String(p) : safeKey(p))).join(".") : "document";
  switch (s.t) {
    case "string":
      if (typeof v !== "string") return bad(`${where}: expected a string, got ${kindOf(v)}`);
      if (s.enum && !s.enum.includes(v)) return bad(`${where}: unknown value ${quote(v)}${suggest(v, s.enum)} (one of ${s.enum.join(", ")})`);
      if (s.pattern && !new RegExp(s.pattern).test(v)) return bad(`${where}: ${quote(v)} does not match ${s.pattern}`);
      return;
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v)) return bad(`${where}: expected an integer, got ${kindOf(v)}`);
      if (s.min !== undefined && v < s.min) return bad(`${where}: ${v} is less than ${s.min}`);
      if (s.max !== undefined && v > s.max) return bad(`${where}: ${v} is more than ${s.max}`);
      // Beyond 2^53-1 the value read is not the value written (9007199254740993 reads as ...992).
      if (!Number.isSafeInteger(v)) return bad(`${where}: ${v} is too large (at most ${Number.MAX_SAFE_INTEGER}, 2^53-1)`);
      return;
    case "bool":
      if (typeof v !== "boolean") return bad(`${where}: expected true or false, got ${kindOf(v)}`);
      return;
    case "array":
      if (!Array.isArray(v)) return bad(`${where}: expected a list, got ${kindOf(v)}`);
      if (s.minItems && v.length < s.minItems) return bad(`${where}: needs at least ${s.minItems} item(s)`);
      v.forEach((x, i) => check(s.items, x, [...path, i], out));
      return;
    case "object":
      return checkObject(s.props, s.required ?? [], v, path, out, where, s.refused);
    case "record": {
      if (v === null || typeof v !== "object" || Array.isArray(v)) return bad(`${where}: expected a mapping, got ${kindOf(v)}`);
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (s.keys && !s.keys.includes(k)) bad(`${where}: unknown key ${quote(k)}${suggest(k, s.keys)} (one of ${s.keys.join(", ")})`, [...path, k]);
        else check(s.values, x, [...path, k], out);
      }
      return;
    }
    case "tagged": {
      if (v === null || typeof v !== "object" || Array.isArray(v)) return bad(`${where}: expected a mapping, got ${kindOf(v)}`);
      const tag = (v as Record<string, unknown>)[s.tag];
      const variant = typeof tag === "string" && hasOwn(s.variants, tag) ? s.variants[tag] : undefined;
      if (!variant) return bad(`${where}: ${s.tag} must be one of ${Object.keys(s.variants).join(", ")}${tag === undefined ? "" : ` (got ${kindOf(tag)})`}`, tag === undefined ? path : [...path, s.tag]);
      return checkObject({ [s.tag]: { t: "string" }, ...variant.props }, variant.required ?? [], v, path, out, where);
    }
    case "either": {
      for (const o of s.options) {
        const sub: Problem[] = [];
        check(o, v, path, sub);
        if (sub.length === 0) return;
      }
      // Report against the option whose shape matches (a string vs. a mapping/list).
      const o = s.options.find((x) => (typeof v === "string" ? x.t === "string" : Array.isArray(v) ? x.t === "array" : x.t === "object")) ?? s.options[0]!;
      check(o, v, path, out);
      return;
    }
  }
}

function checkObject(props: Record<string, S>, required: readonly string[], v: unknown, path: (string | number)[], out: Problem[], where: string, refused?: Record<string, string>): void {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return void out.push({ path, message: `${where}: expected a mapping, got ${kindOf(v)}` });
  const o = v as Record<string, unknown>;
  for (const r of required) if (!hasOwn(o, r)) out.push({ path, message: `${where}: missing required key '${r}'` });
  for (const [k, x] of Object.entries(o)) {
    const p = hasOwn(props, k) ? props[k] : undefined;
    const at = path.length ? `${where}.${safeKey(k)}` : safeKey(k);
    if (refused && hasOwn(refused, k)) out.push({ path: [...path, k], message: `${at}: refused: ${refused[k]}` });
    else if (!p) out.push({ path: [...path, k], message: `${where}: unknown key ${quote(k)}${suggest(k, Object.keys(props)) || ` (known: ${Object.keys(props).join(", ")})`}` });
    else check(p, x, [...path, k], out);
  }
}

/** A key as part of a path in a message (escaped, truncated). */
function safeKey(k: string): string {
  return /^[A-Za-z0-9_-]{1,40}$/.test(k) ? k : quote(k, 40);
}

/** A scenario as a file gives it: the model's Scenario plus what the command line may override. */
export interface ScenarioFile {
  scenario: Scenario;
  /** Presets the file restricts itself to (`protocol:`), if any. */
  presets?: string[];
  strategy?: StrategyName;
  bounds: { preemptions?: number; seed?: number; maxExecutions?: number; maxStates?: number; maxSteps?: number; maxGraphEdges?: number; maxMemoryMb?: number };
}

/** Checks of meaning once the shape is right. */
function semantic(doc: Record<string, unknown>): Problem[] {
  const out: Problem[] = [];
  const geo = (doc.geometry as { levels: number; fanout: number } | undefined) ?? { levels: 3, fanout: 2 };
  const n = geo.fanout ** geo.levels;
  const gfnOk = (g: unknown, p: (string | number)[], what = "GFN"): void => {
    if (typeof g === "number" && g >= n) out.push({ path: p, message: `${p.join(".")}: ${what} ${g} is outside the geometry (${n} GFNs: 0..${n - 1})` });
  };
  const init = (doc.initial ?? {}) as Record<string, unknown>;
  ((init.tables ?? []) as { level: number; gfn: number }[]).forEach((t, i) => {
    gfnOk(t.gfn, ["initial", "tables", i, "gfn"]);
    if (t.level >= geo.levels) out.push({ path: ["initial", "tables", i, "level"], message: `initial.tables.${i}.level: tables below the root have levels 1..${geo.levels - 1}` });
  });
  ((init.leaves ?? []) as { gfn: number }[]).forEach((l, i) => gfnOk(l.gfn, ["initial", "leaves", i, "gfn"]));
  ((init.shared ?? []) as number[]).forEach((g, i) => gfnOk(g, ["initial", "shared", i]));
  // S-EPT huge pages: a 2M block is the `fanout` GFNs under one level-2 entry.
  const folios = new Set((init.hugeFolios ?? []) as number[]);
  ((init.hugeFolios ?? []) as number[]).forEach((g, i) => {
    gfnOk(g, ["initial", "hugeFolios", i]);
    if (typeof g === "number" && g % geo.fanout !== 0) out.push({ path: ["initial", "hugeFolios", i], message: `initial.hugeFolios.${i}: GFN ${g} is not 2M aligned (a 2M block is ${geo.fanout} GFNs)` });
  });
  ((init.hugeLeaves ?? []) as { gfn: number }[]).forEach((l, i) => {
    gfnOk(l.gfn, ["initial", "hugeLeaves", i, "gfn"]);
    if (typeof l.gfn === "number" && !folios.has(l.gfn)) out.push({ path: ["initial", "hugeLeaves", i, "gfn"], message: `initial.hugeLeaves.${i}.gfn: ${l.gfn} is not the base GFN of a block listed in initial.hugeFolios` });
  });
  const names = new Map<string, number>();
  ((doc.threads ?? []) as Record<string, unknown>[]).forEach((t, i) => {
    for (const k of ["gfn", "start"]) gfnOk(t[k], ["threads", i, k]);
    if (typeof t.end === "number" && t.end > n) out.push({ path: ["threads", i, "end"], message: `threads.${i}.end: ${t.end} is past the geometry's last GFN (${n - 1})` });
    if (typeof t.start === "number" && typeof t.end === "number" && t.end <= t.start) out.push({ path: ["threads", i, "end"], message: `threads.${i}: end (${t.end}) must be greater than start (${t.start})` });
    ((t.actions ?? []) as { gfn: number }[]).forEach((a, j) => gfnOk(a.gfn, ["threads", i, "actions", j, "gfn"]));
    if (typeof t.name === "string") {
      if (names.has(t.name)) out.push({ path: ["threads", i, "name"], message: `threads.${i}.name: ${quote(t.name)} is also the name of thread ${names.get(t.name)}` });
      names.set(t.name, i);
    }
  });
  for (const [id, val] of Object.entries((doc.overrides ?? {}) as Record<string, unknown>)) {
    const sw = SWITCHES.find((s) => s.id === id);
    if (sw && typeof val === "string" && !sw.values.some((x) => x.value === val))
      out.push({ path: ["overrides", id], message: `overrides.${id}: unknown value ${quote(val)}${suggest(val, sw.values.map((x) => x.value))} (values: ${sw.values.map((x) => x.value).join(", ")})` });
  }
  const known = new Set([...SEAMCALLS, ...SEAMCALLS.map(wrapperName)]);
  ((doc.inject ?? []) as string[]).forEach((n, i) => {
    if (!known.has(n)) out.push({ path: ["inject", i], message: `inject.${i}: unknown SEAMCALL ${quote(n)}${suggest(n, [...known])} (the model issues: ${SEAMCALLS.join(", ")})` });
  });
  return out;
}

/**
 * The model itself, under every preset the file applies to: whatever it refuses (a geometry or a
 * thread count over its limits, say) is refused by `validate` too, not only by `check`.
 */
function buildable(doc: Record<string, unknown>, value: ScenarioFile): Problem[] {
  for (const p of value.presets ?? PRESET_NAMES) {
    try {
      const program = buildProgram(value.scenario, p);
      // A symmetry declaration is checked on the program it applies to (src/kvm/symmetry.ts, src/engine/symmetry.ts).
      if (value.scenario.symmetry) Symmetry.of(program, symmetryGenerators(value.scenario, program));
    } catch (e) {
      if (e instanceof SymmetryError) {
        const m = /^symmetry\[(\d+)\]/.exec(e.where);
        const msg = e.message.length > 300 ? e.message.slice(0, 300) + "..." : e.message;
        return [{ path: m ? ["symmetry", Number(m[1])] : ["symmetry"], message: `${msg} (under ${p})` }];
      }
      const msg = e instanceof Error ? e.message.split("\n")[0]! : String(e);
      const path: (string | number)[] = /geometry/.test(msg) ? ["geometry"] : /thread/.test(msg) ? ["threads"] : [];
      return [{ path, message: `${path.length ? `${path[0]}: ` : ""}the model refuses this scenario under ${p}: ${msg.length > 200 ? msg.slice(0, 200) + "..." : msg}` }];
    }
  }
  void doc;
  return [];
}

export interface Located {
  line: number;
  col: number;
}

function locate(doc: Document, lc: LineCounter, path: (string | number)[]): Located {
  for (let k = path.length; k >= 0; k--) {
    const node = k === 0 ? doc.contents : doc.getIn(path.slice(0, k), true);
    if (node && typeof node === "object" && "range" in node && Array.isArray((node as { range?: unknown }).range)) {
      // For a mapping value, point at its key (same line in block style, the key names the problem).
      const parent = k > 0 ? (k === 1 ? doc.contents : doc.getIn(path.slice(0, k - 1), true)) : null;
      if (parent && isMap(parent)) {
        const pair = parent.items.find((p) => p.key && typeof p.key === "object" && "value" in p.key && String((p.key as { value: unknown }).value) === String(path[k - 1]));
        const kr = pair?.key && typeof pair.key === "object" && "range" in pair.key ? (pair.key as { range?: [number, number, number] }).range : undefined;
        if (kr) return lc.linePos(kr[0]);
      }
      const r = (node as { range: [number, number, number] }).range;
      return lc.linePos(r[0]);
    }
    if (isSeq(node) && node.range) return lc.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
}

export interface FileProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** Parse and validate a scenario file's text; returns the problems (sorted by line) or the scenario. */
export function parseScenarioText(text: string, file: string): { problems: FileProblem[]; value?: ScenarioFile } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    const msg = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { problems: [{ file, line: pos.line, col: pos.col, message: `YAML: ${msg}` }] };
  }
  let js: unknown;
  try {
    // An alias bomb ("billion laughs") stops here: the yaml library refuses excessive alias expansion.
    js = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { problems: [{ file, line: 1, col: 1, message: `YAML: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200)}` }] };
  }
  const problems: Problem[] = [];
  check(SCENARIO_SCHEMA, js, [], problems);
  if (problems.length === 0) problems.push(...semantic(js as Record<string, unknown>));
  if (problems.length > 0) {
    const fp = problems.map((p) => ({ file, ...locate(doc, lc, p.path), message: p.message }));
    fp.sort((a, b) => a.line - b.line || a.col - b.col);
    return { problems: fp };
  }
  const d = js as Record<string, unknown> & { protocol?: string | string[]; strategy?: StrategyName; bounds?: ScenarioFile["bounds"] };
  const { protocol, strategy, bounds, ...rest } = d;
  const scenario = { description: "", expected: {}, ...rest } as unknown as Scenario;
  // The model's Scenario takes only the state-space strategies as a hint; the CLI passes any strategy itself.
  const value: ScenarioFile = { scenario, bounds: bounds ?? {} };
  if (protocol !== undefined) value.presets = Array.isArray(protocol) ? protocol : [protocol];
  if (strategy !== undefined) value.strategy = strategy;
  const refused = buildable(d, value);
  if (refused.length > 0) return { problems: refused.map((p) => ({ file, ...locate(doc, lc, p.path), message: p.message })) };
  return { problems: [], value };
}

/** Load a scenario file or throw a UsageError naming file, line and problem. */
export function loadScenarioFile(file: string): ScenarioFile {
  const text = readInput(file, "scenario file");
  const r = parseScenarioText(text, displayName(file));
  if (r.problems.length > 0) {
    const p = r.problems[0]!;
    throw new UsageError(`${p.file}:${p.line}:${p.col}: ${p.message}${r.problems.length > 1 ? ` (and ${r.problems.length - 1} more problem(s); run 'tdxmc validate ${displayName(file)}')` : ""}`);
  }
  return r.value!;
}

// The same validator for other YAML inputs (the simulator's cost files, src/sim/costs.ts).
export { check as checkAgainstSchema, locate as locateInDocument };
/** A file name as messages show it: "-" is standard input; control characters escaped. */
export function displayName(file: string): string {
  return showPath(file);
}
