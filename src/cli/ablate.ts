// `tdxmc ablate SCENARIO`: turn each defense of a preset off, one at a time — every switch set to
// each of its other values — and print which properties each change breaks.
import { ABLATION_PRESET, ABLATIONS, cannotMatterReason, DEFAULT_PRESET, noVerdictChangeReason, PRESETS, SWITCHES } from "../kvm/index.js";
import type { CellResult, CellSpec, RunOpts } from "./cell.js";
import { EXIT, UsageError, worstExit } from "./errors.js";
import { createPool, defaultJobs } from "./pool.js";
import { createProgress, rate, startHeartbeat } from "./progress.js";
import { jsonHeader, VERSION } from "./provenance.js";
import { quote } from "./safe-input.js";
import { parseModuleVersion, parsePresets, parseStrategy, resolveTarget } from "./targets.js";
import type { CheckIo } from "./check.js";
import type { Scenario } from "../kvm/index.js";

export interface AblateOptions {
  protocol?: string;
  strategy?: string;
  moduleVersion?: string;
  preemptions?: number;
  maxExecutions?: number;
  maxStates?: number;
  maxMemory?: number;
  maxSteps?: number;
  maxGraphEdges?: number;
  timeLimit?: number;
  json?: boolean;
  timings?: boolean;
  jobs?: number;
}

interface Row {
  switch: string;
  value: string;
  kind: string;
  source: string;
  spec: CellSpec;
  result?: CellResult;
}

/**
 * `tdxmc ablate` with no scenario: the catalogue of src/kvm/ablations.ts — for each defense's
 * historical value, the built-in scenario whose verdict it alone flips — and the values that flip
 * none, with the reason.
 */
export function runAblateCatalogue(o: { json?: boolean }, io: CheckIo): number {
  const rest: { switch: string; value: string; reason: string; cannotMatter: boolean }[] = [];
  for (const sw of SWITCHES)
    for (const v of sw.values) {
      if (v.value === PRESETS[ABLATION_PRESET]!.values[sw.id] || ABLATIONS.some((a) => a.switch === sw.id && a.value === v.value)) continue;
      const cm = cannotMatterReason(sw.id, v.value);
      rest.push({ switch: sw.id, value: v.value, reason: cm ?? noVerdictChangeReason(sw.id, v.value) ?? "no reason recorded", cannotMatter: cm !== undefined });
    }
  if (o.json) {
    io.out(JSON.stringify({ ...jsonHeader("ablate"), preset: ABLATION_PRESET, ablations: ABLATIONS.map((a) => ({ preset: ABLATION_PRESET, ...a })), noVerdictChange: rest }, null, 2) + "\n");
    return EXIT.ok;
  }
  const L = [`tdxmc ${VERSION} ablate: which defense stops which race — each value alone, from ${ABLATION_PRESET} unless another preset is named (test/kvm/ablation.test.ts checks every row)`, ""];
  const w1 = Math.max(...ABLATIONS.map((a) => `${a.switch}=${a.value}`.length));
  const where = (a: (typeof ABLATIONS)[number]): string => a.scenario + (a.preset || a.with ? ` (${[a.preset, ...Object.entries(a.with ?? {}).map(([k, x]) => `with ${k}=${x}`)].filter(Boolean).join(", ")})` : "");
  const w2 = Math.max(...ABLATIONS.map((a) => where(a).length));
  for (const a of ABLATIONS) L.push(`  ${`${a.switch}=${a.value}`.padEnd(w1)}  ${where(a).padEnd(w2)}  violates ${a.violated}${a.inject ? ` (BUSY injected into ${a.inject.join(", ")})` : ""}`);
  L.push("", "Values that flip no built-in verdict:");
  for (const r of rest) L.push(`  ${r.switch}=${r.value}: ${r.cannotMatter ? "cannot change the explored state space yet: " : ""}${r.reason}`);
  L.push("", "'tdxmc ablate SCENARIO' runs every value of every switch on one scenario.");
  io.out(L.join("\n") + "\n");
  return EXIT.ok;
}

export async function runAblate(name: string, o: AblateOptions, io: CheckIo): Promise<number> {
  const t = resolveTarget(name);
  if (t.kind !== "scenario") throw new UsageError(`ablate: ${quote(name)} is a demo, not a KVM scenario`);
  const presets = parsePresets(o.protocol);
  if (presets && presets.length > 1) throw new UsageError(`ablate: --protocol takes one preset`);
  const preset = presets?.[0] ?? t.file?.presets?.[0] ?? DEFAULT_PRESET;
  const mv = parseModuleVersion(o.moduleVersion);
  const sc: Scenario = mv ? { ...t.scenario, module: { ...(t.scenario.module ?? {}), version: mv as NonNullable<Scenario["module"]>["version"] } } : t.scenario;
  const opts: RunOpts = {
    strategy: parseStrategy(o.strategy) ?? t.file?.strategy ?? sc.strategy ?? "cache",
    allViolations: true,
    minimize: false,
    ...(o.timeLimit !== undefined ? { timeLimitMs: o.timeLimit * 1000 } : {}),
    ...(o.preemptions !== undefined ? { preemptions: o.preemptions } : {}),
    ...(o.maxExecutions !== undefined ? { maxExecutions: o.maxExecutions } : {}),
    ...(o.maxStates !== undefined ? { maxStates: o.maxStates } : {}),
    ...(o.maxMemory !== undefined ? { maxMemoryMb: o.maxMemory } : {}),
    ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
    ...(o.maxGraphEdges !== undefined ? { maxGraphEdges: o.maxGraphEdges } : {}),
  };
  const base = { ...(PRESETS[preset]!.values as Record<string, string>), ...(sc.overrides ?? {}) };
  const mk = (ov: Record<string, string>): CellSpec => ({ kind: "scenario", scenario: sc, builtin: t.builtin, source: t.source, preset, overrides: ov, opts });
  const rows: Row[] = [{ switch: "(none)", value: "", kind: "", source: `${preset} as it is`, spec: mk({}) }];
  for (const sw of SWITCHES)
    for (const v of sw.values)
      if (v.value !== base[sw.id]) rows.push({ switch: sw.id, value: v.value, kind: v.kind, source: v.source, spec: mk({ [sw.id]: v.value }) });
  // The baseline runs with the (empty) override so that every property is checked, as in the ablations.
  rows[0]!.spec = mk({ [SWITCHES[0]!.id]: base[SWITCHES[0]!.id]! });
  const pool = createPool(o.jobs ?? defaultJobs());
  const t0 = Date.now();
  const progress = createProgress(io.tty && !o.json);
  let interrupted = false;
  const off = io.onInterrupt?.(() => {
    interrupted = true;
    pool.stop();
  });
  // Not on a terminal (CI): a heartbeat line on stderr every 30 s, as check prints.
  const beat = startHeartbeat(io, "ablate", `0/${rows.length} runs`);
  let results: CellResult[];
  try {
    results = await pool.run(rows.map((r) => r.spec), rows.map((r) => `${r.switch}=${r.value}`), {
      onProgress: (done, total, ex, running) => {
        beat.status(`${done}/${total} runs, ${ex} executions${running.length ? ` (running: ${running.join(", ")})` : ""}`);
        progress.update(`ablate: ${done}/${total} runs, ${ex} executions, ${rate(ex, Date.now() - t0)}`);
      },
    });
  } finally {
    beat.stop();
    progress.done();
    off?.();
  }
  rows.forEach((r, i) => (r.result = results[i]!));
  let code: number = EXIT.ok;
  const broken = (r: CellResult): string[] => [...new Set(r.counterexamples.map((c) => c.property))];
  for (const r of rows) {
    const res = r.result!;
    if (res.verdict === "error") code = worstExit(code, EXIT.usage);
    else if (res.verdict === "incomplete" && res.counterexamples.length === 0) code = worstExit(code, EXIT.limit);
  }
  if (broken(rows[0]!.result!).length > 0) code = worstExit(code, EXIT.violation);
  if (interrupted) code = worstExit(code, EXIT.interrupted);
  const verdictOf = (r: CellResult): string =>
    r.verdict === "error" ? `error: ${r.error}` : r.counterexamples.length ? "violated" : r.verdict === "incomplete" ? `no verdict (${r.stopReason})` : r.verdict === "no-violation-found" ? "none found" : r.verdict;
  if (o.json) {
    io.out(
      JSON.stringify(
        {
          ...jsonHeader("ablate"),
          scenario: t.name,
          preset,
          strategy: opts.strategy,
          exitCode: code,
          rows: rows.map((r) => ({
            switch: r.switch === "(none)" ? null : r.switch,
            value: r.value || null,
            kind: r.kind || null,
            source: r.source,
            verdict: r.result!.verdict,
            exhaustive: r.result!.exhaustive,
            stopReason: r.result!.stopReason ?? null,
            broken: broken(r.result!),
            cannotMatter: r.switch === "(none)" ? null : (cannotMatterReason(r.switch, r.value) ?? null),
            missingWitnesses: r.result!.missingWitnesses,
            executions: r.result!.stats.executions,
            ...(o.timings ? { timings: { wallMs: r.result!.stats.wallMs } } : {}),
          })),
        },
        null,
        2,
      ) + "\n",
    );
    return code;
  }
  const lines = [`tdxmc ${VERSION} ablate: ${t.name} on ${preset}, each switch alone set to each of its other values (strategy ${opts.strategy})`, ""];
  const sw = Math.max(6, ...rows.map((r) => r.switch.length));
  const vw = Math.max(5, ...rows.map((r) => r.value.length));
  const kw = Math.max(4, ...rows.map((r) => r.kind.length));
  const dw = Math.max(7, ...rows.map((r) => verdictOf(r.result!).length));
  lines.push(`${"switch".padEnd(sw)}  ${"value".padEnd(vw)}  ${"kind".padEnd(kw)}  ${"verdict".padEnd(dw)}  ${"executions".padStart(10)}  properties broken`);
  for (const r of rows) {
    const res = r.result!;
    const b = broken(res);
    lines.push(`${r.switch.padEnd(sw)}  ${r.value.padEnd(vw)}  ${r.kind.padEnd(kw)}  ${verdictOf(res).padEnd(dw)}  ${String(res.stats.executions).padStart(10)}  ${b.length ? b.join(", ") : "-"}${r.switch !== "(none)" && cannotMatterReason(r.switch, r.value) ? " (this value cannot change the explored state space yet: tdxmc explain " + r.switch + ")" : ""}${res.verdict === "vacuous" ? ` (never reached: ${res.missingWitnesses.join(", ")})` : ""}${o.timings ? `  ${(res.stats.wallMs / 1000).toFixed(2)}s` : ""}`.trimEnd());
  }
  const breaking = rows.slice(1).filter((r) => broken(r.result!).length > 0);
  lines.push("", breaking.length ? `${breaking.length} of ${rows.length - 1} changes break a property; 'tdxmc check ${t.builtin ? t.name : t.source} --protocol ${preset} --set SWITCH=VALUE' shows the counterexample.` : `No single change breaks a property of ${t.name} on ${preset}.`);
  io.out(lines.join("\n") + "\n");
  return code;
}
