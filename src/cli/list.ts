// `tdxmc list` and `tdxmc explain`: what the model has — scenarios, presets, switches (with the
// commit or function each value comes from), properties.
import { own, quote, suggest } from "./safe-input.js";
import { ABLATION_PRESET, ABLATIONS, cannotMatterReason, DEFAULT_PRESET, noVerdictChangeReason, PRESETS, SCENARIOS, SWITCHES, type Scenario, type Switch } from "../kvm/index.js";
import { DEMOS } from "./demo.js";
import { UsageError } from "./errors.js";
import { PROPERTY_INFO } from "./properties.js";
import { jsonHeader } from "./provenance.js";
import { PRESET_ORDER } from "./targets.js";

const expectText = (e: Scenario["expected"][string]): string => (e === "verified" ? "verified" : `violated ${e.violated}`);

function threadsText(s: Scenario): string {
  return s.threads
    .map((t) => {
      const n = t.name ?? (t.kind === "fault" || t.kind === "vcpu" ? `vCPU${t.vcpu}` : t.kind === "zap" ? "zapper" : t.kind);
      return `${n} (${t.kind})`;
    })
    .join(", ");
}

/** Scenarios expected to violate `property` on some preset. */
function showsProperty(p: string): string[] {
  const out: string[] = [];
  for (const s of Object.values(SCENARIOS)) {
    const on = PRESET_ORDER.filter((pr) => {
      const e = s.expected[pr];
      return e !== undefined && e !== "verified" && e.violated === p;
    });
    if (on.length) out.push(`${s.name} (on ${on.join(", ")})`);
  }
  return out;
}

/**
 * Built-in scenarios whose expected verdict changes between two presets that differ in `sw`:
 * for each, the closest such pair (fewest switches differing), with the other switches that differ.
 */
function showsSwitch(sw: Switch): string[] {
  const out: string[] = [];
  for (const s of Object.values(SCENARIOS)) {
    let best: { a: string; b: string; diff: string[] } | null = null;
    for (const a of PRESET_ORDER) {
      const ea = s.expected[a];
      if (ea === undefined || ea === "verified") continue;
      for (const b of PRESET_ORDER) {
        if (s.expected[b] !== "verified") continue;
        const diff = SWITCHES.filter((x) => PRESETS[a]!.values[x.id] !== PRESETS[b]!.values[x.id]).map((x) => x.id);
        if (!diff.includes(sw.id)) continue;
        if (!best || diff.length < best.diff.length) best = { a, b, diff };
      }
    }
    if (best && best.diff.length <= 3) {
      const others = best.diff.filter((d) => d !== sw.id);
      const ea = s.expected[best.a]!;
      out.push(`${s.name}: ${ea === "verified" ? "" : `violated ${ea.violated}`} on ${best.a} (${sw.id} = ${PRESETS[best.a]!.values[sw.id]}), verified on ${best.b} (${PRESETS[best.b]!.values[sw.id]})${others.length ? `; those presets also differ in ${others.join(", ")}` : "; no other switch differs"}`);
    }
  }
  return out;
}

function listData() {
  return {
    ...jsonHeader("list"),
    defaultPreset: DEFAULT_PRESET,
    scenarios: Object.values(SCENARIOS).map((s) => ({
      name: s.name,
      description: s.description,
      threads: s.threads,
      witnesses: s.witnesses ?? [],
      overrides: s.overrides ?? {},
      expected: Object.fromEntries(PRESET_ORDER.filter((p) => s.expected[p] !== undefined).map((p) => [p, expectText(s.expected[p]!)])),
      why: s.why ?? {},
    })),
    presets: PRESET_ORDER.map((p) => ({ name: p, description: PRESETS[p]!.description, default: p === DEFAULT_PRESET, assumed: PRESETS[p]!.assumed, switches: PRESETS[p]!.values })),
    switches: SWITCHES.map((s) => ({ id: s.id, title: s.title, values: s.values, depends: s.depends ?? null, presets: Object.fromEntries(PRESET_ORDER.map((p) => [p, { value: PRESETS[p]!.values[s.id], assumed: PRESETS[p]!.assumed.includes(s.id) }])) })),
    properties: PROPERTY_INFO.map((p) => ({ name: p.name, description: p.description, source: p.source })),
    demos: DEMOS.map((d) => ({ name: `demo:${d.name}`, description: d.description, expected: d.expected })),
  };
}

export function runList(o: { json?: boolean }, out: (s: string) => void): number {
  if (o.json) {
    out(JSON.stringify(listData(), null, 2) + "\n");
    return 0;
  }
  const L: string[] = [];
  L.push("Scenarios (built-in; expected verdict per preset):");
  const nw = Math.max(...Object.keys(SCENARIOS).map((n) => n.length));
  for (const s of Object.values(SCENARIOS)) {
    L.push(`  ${s.name.padEnd(nw)}  ${s.description}`);
    L.push(`  ${"".padEnd(nw)}  threads: ${threadsText(s)}`);
    const ex = PRESET_ORDER.filter((p) => s.expected[p] !== undefined).map((p) => `${p}: ${expectText(s.expected[p]!)}`);
    L.push(`  ${"".padEnd(nw)}  expected: ${ex.length ? ex.join("; ") : "none"}`);
  }
  L.push("", `Presets (default ${DEFAULT_PRESET}):`);
  const pw = Math.max(...PRESET_ORDER.map((p) => p.length));
  for (const p of PRESET_ORDER) L.push(`  ${p.padEnd(pw)}  ${PRESETS[p]!.description}`);
  L.push("", "Switches (value per preset; * = assumed, not documented for that version):");
  const sw = Math.max(6, ...SWITCHES.map((s) => s.id.length));
  const colW = PRESET_ORDER.map((p) => Math.max(p.length, ...SWITCHES.map((s) => (PRESETS[p]!.values[s.id] ?? "").length + 1)));
  L.push(`  ${"switch".padEnd(sw)}  ${PRESET_ORDER.map((p, j) => p.padEnd(colW[j]!)).join("  ")}`.trimEnd());
  for (const s of SWITCHES)
    L.push(`  ${s.id.padEnd(sw)}  ${PRESET_ORDER.map((p, j) => `${PRESETS[p]!.values[s.id] ?? "-"}${PRESETS[p]!.assumed.includes(s.id) ? "*" : ""}`.padEnd(colW[j]!)).join("  ")}`.trimEnd());
  L.push("", "Switch values and where each comes from:");
  for (const s of SWITCHES) {
    L.push(`  ${s.id}: ${s.title}`);
    for (const v of s.values) L.push(`    ${v.value} (${v.kind}): ${v.source}`);
    if (s.depends) L.push(`    depends: ${s.depends}`);
  }
  L.push("", "Properties:");
  const qw = Math.max(...PROPERTY_INFO.map((p) => p.name.length));
  for (const p of PROPERTY_INFO) L.push(`  ${p.name.padEnd(qw)}  ${p.description}`);
  L.push("", "Engine demos (tdxmc check demo:NAME, or check --demo for all):");
  L.push(`  ${DEMOS.map((d) => d.name).join(", ")}`);
  out(L.join("\n") + "\n");
  return 0;
}

export function runExplain(name: string, out: (s: string) => void): number {
  const L: string[] = [];
  const sw = SWITCHES.find((s) => s.id === name);
  const prop = PROPERTY_INFO.find((p) => p.name === name);
  // Own properties only: "constructor" or "__proto__" is an unknown name, not Object's.
  const preset = own(PRESETS, name);
  const sc = own(SCENARIOS, name);
  if (sw) {
    L.push(`switch ${sw.id}: ${sw.title}`, "", "values:");
    for (const v of sw.values) L.push(`  ${v.value} (${v.kind})`, `      ${v.source}`);
    L.push("", "value per preset:");
    // A preset older than a switch's feature has no value for it (its code path does not exist there).
    for (const p of PRESET_ORDER) L.push(`  ${p.padEnd(20)} ${PRESETS[p]!.values[sw.id] ?? "- (not in this preset)"}${PRESETS[p]!.assumed.includes(sw.id) ? " (assumed)" : ""}`);
    if (sw.depends) L.push("", `depends: ${sw.depends}`);
    // Which value flips which built-in verdict alone (src/kvm/ablations.ts), and why the others do not.
    L.push("", `each value alone, from ${ABLATION_PRESET} (or the preset named):`);
    for (const v of sw.values) {
      const rows = ABLATIONS.filter((a) => a.switch === sw.id && a.value === v.value);
      const cannot = cannotMatterReason(sw.id, v.value);
      if (rows.length) for (const a of rows) L.push(`  ${v.value}: ${a.scenario}${a.preset ? ` on ${a.preset}` : ""}${a.with ? ` with ${Object.entries(a.with).map(([k, x]) => `${k}=${x}`).join(",")}` : ""} violates ${a.violated}${a.inject ? ` (BUSY injected into ${a.inject.join(", ")})` : ""}`);
      else if (cannot) L.push(`  ${v.value}: cannot change the explored state space yet: ${cannot}`);
      else if (v.value === PRESETS[ABLATION_PRESET]!.values[sw.id]) L.push(`  ${v.value}: the ${ABLATION_PRESET} value`);
      else L.push(`  ${v.value}: changes no built-in verdict: ${noVerdictChangeReason(sw.id, v.value) ?? "no reason recorded"}`);
    }
    const shows = showsSwitch(sw);
    L.push("", "built-in scenarios whose expected verdict changes between two close presets that differ in it:");
    L.push(...(shows.length ? shows.map((s) => `  ${s}`) : ["  none between presets differing in at most 3 switches"]));
    L.push("", `To see what this switch alone breaks: tdxmc ablate SCENARIO --protocol ${DEFAULT_PRESET}`);
  } else if (prop) {
    L.push(`property ${prop.name}`, "", prop.description, "", `source: ${prop.source}`);
    const shows = showsProperty(prop.name);
    L.push("", "built-in scenarios expected to violate it:");
    L.push(...(shows.length ? shows.map((s) => `  ${s}`) : ["  none"]));
    if (shows.length) L.push("", `try: tdxmc check ${shows[0]!.split(" ")[0]} --protocol ${/on ([^,)]+)/.exec(shows[0]!)?.[1] ?? DEFAULT_PRESET}`);
  } else if (preset) {
    L.push(`preset ${preset.name}: ${preset.description}`, "");
    for (const s of SWITCHES) L.push(`  ${s.id.padEnd(20)} ${preset.values[s.id] ?? "- (not in this preset)"}${preset.assumed.includes(s.id) ? " (assumed)" : ""}`);
  } else if (sc) {
    L.push(`scenario ${sc.name}: ${sc.description}`, "", `threads: ${threadsText(sc)}`);
    if (sc.witnesses?.length) L.push(`witnesses: ${sc.witnesses.join(", ")}`);
    if (sc.overrides && Object.keys(sc.overrides).length) L.push(`switch overrides: ${Object.entries(sc.overrides).map(([k, v]) => `${k}=${v}`).join(", ")}`);
    L.push("expected:");
    for (const p of PRESET_ORDER)
      if (sc.expected[p] !== undefined) {
        L.push(`  ${p.padEnd(20)} ${expectText(sc.expected[p]!)}`);
        // Why it holds there: the upstream fix, or the mail that describes the bug (src/kvm/why.ts).
        const why = sc.why ? own(sc.why, p) : undefined;
        if (why !== undefined) L.push(`  ${"".padEnd(20)}   why: ${why}`);
      }
  } else {
    const all = [...SWITCHES.map((s) => s.id), ...PROPERTY_INFO.map((p) => p.name), ...Object.keys(PRESETS), ...Object.keys(SCENARIOS)];
    throw new UsageError(`explain: unknown switch, property, preset or scenario ${quote(name)}${suggest(name, all)} (switches: ${SWITCHES.map((s) => s.id).join(", ")}; properties: ${PROPERTY_INFO.map((p) => p.name).join(", ")})`);
  }
  out(L.join("\n") + "\n");
  return 0;
}
