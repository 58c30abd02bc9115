// tdxmc simulate: the timed simulation of workloads on the model (src/sim), with text / JSON / CSV
// output, SVG charts and replayable finding files.
import { accessSync, constants, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { PRESETS } from "../kvm/index.js";
import { defaults, loadCosts, type CostModel } from "../sim/costs.js";
import { DEFAULT_COSTS_YAML } from "../sim/default-costs.js";
import { formatCsv, formatTable, jsonOf } from "../sim/report.js";
import { simulateScenario, type Finding } from "../sim/run.js";
import { builtinSweeps, literalProblem, runSweep, type Protocol, type Sweep, type SweepResult } from "../sim/sweep.js";
import { chartsOf } from "../sim/svg.js";
import { WORKLOAD_KINDS, WorkloadError, type WorkloadKind } from "../sim/workloads.js";
import { EXIT, UsageError } from "./errors.js";
import { startHeartbeat, type Clock } from "./progress.js";
import { checkOutputDir } from "./safe-input.js";
import { FORMAT_VERSION, jsonHeader, resolvedSwitches, VERSION, type Provenance } from "./provenance.js";
import { CEX_FORMAT, compressSchedule, MAX_SCHEDULE_CHARS, type CounterexampleFile } from "./replayspec.js";
import { loadScenarioFile } from "./scenario-file.js";
import { collect, intOption, parseModuleVersion, parsePresets, parseSets } from "./targets.js";

export interface SimulateOptions {
  workload?: string;
  vcpus?: string;
  pages?: string;
  gib?: string;
  writers?: number;
  protocol?: string;
  set?: string[];
  moduleVersion?: string;
  seed?: number;
  costs?: string;
  printCosts?: boolean;
  list?: boolean;
  json?: boolean;
  csv?: boolean;
  charts?: string | false;
  literal?: boolean;
}

export interface SimulateIo {
  out: (s: string) => void;
  err: (s: string) => void;
  tty: boolean;
  /** Heartbeat period and timers when not on a terminal (tests inject them). */
  heartbeatMs?: number;
  clock?: Clock;
}

function intList(v: string, what: string, min: number, max: number): number[] {
  const out = v.split(",").map((x) => x.trim());
  return out.map((x) => {
    if (!/^[0-9]+$/.test(x)) throw new UsageError(`${what}: '${x}' is not a whole number (expected a comma-separated list, e.g. 1,2,4,8)`);
    const n = Number(x);
    if (n < min || n > max) throw new UsageError(`${what}: ${n} is outside ${min}..${max}`);
    return n;
  });
}

/** Checked before the run: the directory exists (or can be made) and is writable. */
function prepareDir(dir: string): void {
  // Not under /proc, /sys or /dev, and created one level at a time (a recursive mkdir under /proc never returns).
  checkOutputDir(dir, "--charts");
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--charts ${dir}: not a directory`);
    accessSync(dir, constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--charts ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function sweepFromOptions(name: string | undefined, o: SimulateOptions): Sweep {
  const builtins = builtinSweeps();
  const adHoc = o.workload !== undefined || o.vcpus !== undefined || o.pages !== undefined || o.gib !== undefined;
  let s: Sweep;
  if (!adHoc) name ??= "default";
  if (name !== undefined && !adHoc) {
    const b = builtins[name];
    if (!b) throw new UsageError(`simulate: unknown sweep '${name}' (built-in sweeps: ${Object.keys(builtins).join(", ")}; or a scenario file .yaml)`);
    s = { ...b };
  } else {
    if (name !== undefined) throw new UsageError(`simulate: give either a sweep name or --workload/--vcpus/--pages, not both`);
    const kinds = (o.workload ?? "boot").split(",").map((k) => k.trim());
    for (const k of kinds) if (!(WORKLOAD_KINDS as readonly string[]).includes(k)) throw new UsageError(`--workload: unknown workload '${k}' (one of ${WORKLOAD_KINDS.join(", ")})`);
    const vcpus = intList(o.vcpus ?? "1,2,4,8", "--vcpus", 1, 1024);
    const pages = o.gib !== undefined ? intList(o.gib, "--gib", 1, 4096).map((g) => g * 262_144) : intList(o.pages ?? "25", "--pages", 1, 2 ** 40);
    if (vcpus.length > 1 && pages.length > 1) throw new UsageError(`simulate: vary either --vcpus or --pages (the charts have one x axis)`);
    const byPages = pages.length > 1;
    s = {
      name: "custom",
      description: `${kinds.join(", ")}: ${byPages ? `${vcpus[0]} vCPUs, ${pages.join("/")} pages` : `${vcpus.join("/")} vCPUs, ${pages[0]} pages`}`,
      protocols: [],
      workloads: kinds as WorkloadKind[],
      x: byPages ? "pages" : "vcpus",
      xs: byPages ? pages : vcpus,
      ...(byPages ? { vcpus: vcpus[0]! } : { pages: pages[0]! }),
      ...(o.writers !== undefined ? { writers: o.writers } : {}),
    };
  }
  if (o.literal) {
    s.literal = true;
    s.description += ", simulated at size (--literal)";
    const why = literalProblem(s);
    if (why !== null) throw new UsageError(why);
  }
  const presets = parsePresets(o.protocol);
  const sets = parseSets(o.set);
  const mv = parseModuleVersion(o.moduleVersion) as Protocol["module"] | undefined;
  if (presets || s.protocols.length === 0) {
    const ps = presets ?? Object.keys(PRESETS).filter((p) => p.startsWith("upstream-"));
    s.protocols = ps.map((p) => ({ label: p, preset: p }));
  }
  if (Object.keys(sets).length > 0 || mv) {
    s.protocols = s.protocols.map((p) => ({
      ...p,
      label: `${p.label}${Object.keys(sets).length ? "+" + Object.entries(sets).map(([k, v]) => `${k}=${v}`).join(",") : ""}${mv ? `/m${mv}` : ""}`,
      overrides: { ...(p.overrides ?? {}), ...sets },
      ...(mv ? { module: mv } : {}),
    }));
  }
  return s;
}

function provenanceOf(f: Finding, fp: string): Provenance {
  return {
    tdxmc: VERSION,
    formatVersion: FORMAT_VERSION,
    fingerprint: fp,
    scenario: f.scenario.name,
    preset: f.preset,
    overrides: f.overrides,
    switches: resolvedSwitches(f.scenario, f.preset, f.overrides),
    moduleVersion: f.scenario.module?.version ?? null,
    strategy: "timed",
    bounds: {},
  };
}

/**
 * Write each finding as a counterexample file `tdxmc replay` opens; returns the paths. The file
 * records what rebuilds the simulation's own program (`simulation`: workload point, at-size mode,
 * seed, costs, budgets; src/sim/record.ts) and its fingerprint; the schedule when it is short
 * enough to write (a finding deep in a run at size is re-simulated from the seed instead).
 */
export function writeFindings(dir: string, prefix: string, findings: Finding[]): string[] {
  return findings.map((f, i) => {
    const z = compressSchedule(f.schedule);
    const file: CounterexampleFile = {
      format: CEX_FORMAT,
      formatVersion: FORMAT_VERSION,
      provenance: provenanceOf(f, f.fingerprint),
      // At size the scenario has an action per page (262 144 at 1 GiB): the workload point rebuilds it.
      ...(f.sim.literal && f.sim.workload ? {} : { scenario: f.scenario }),
      simulation: f.sim,
      property: f.property,
      message: f.message,
      preemptions: 0,
      steps: f.step,
      schedule: z.length <= MAX_SCHEDULE_CHARS ? z : "",
      replay: "",
    };
    const path = join(dir, `${prefix}-finding-${i + 1}-${f.property}.json`);
    writeFileSync(path, JSON.stringify(file, null, 2) + "\n");
    return path;
  });
}

export function runSimulate(args: string[], o: SimulateOptions, io: SimulateIo): number {
  if (o.printCosts) {
    io.out(DEFAULT_COSTS_YAML);
    return EXIT.ok;
  }
  const sweeps = builtinSweeps();
  if (o.list) {
    io.out("Built-in sweeps (tdxmc simulate NAME):\n");
    for (const s of Object.values(sweeps)) io.out(`  ${s.name.padEnd(13)} ${s.description}\n`);
    io.out(`\nWorkloads (--workload): ${WORKLOAD_KINDS.join(", ")}\n`);
    return EXIT.ok;
  }
  if (args.length > 1) throw new UsageError(`simulate: expects at most one sweep name or scenario file`);
  if (o.json && o.csv) throw new UsageError(`simulate: --json and --csv are exclusive`);
  const costs: CostModel = o.costs !== undefined ? loadCosts(o.costs) : defaults();
  const seed = o.seed ?? 1;
  const dir = o.charts === false ? null : (o.charts ?? "tdxmc-sim");
  const arg = args[0];
  if (arg !== undefined && /\.ya?ml$/.test(arg)) {
    if (o.literal) throw new UsageError(`--literal: applies to workload points (--workload, --pages/--gib), not to a scenario file (${arg} runs as written)`);
    return runScenarioFile(arg, o, io, costs, seed, dir);
  }
  let sweep: Sweep;
  try {
    sweep = sweepFromOptions(arg, o);
  } catch (e) {
    if (e instanceof WorkloadError) throw new UsageError(`simulate: ${e.message}`);
    throw e;
  }
  if (dir !== null) prepareDir(dir);
  let sr: SweepResult;
  const beat = startHeartbeat(io, "simulate", `${sweep.name}: 0 runs`);
  try {
    // Not on a terminal: a heartbeat line on stderr every 30 s (the sweep is synchronous, so it is poked per run).
    sr = runSweep(sweep, costs, seed, io.tty ? (d, t) => io.err(`\rtdxmc simulate ${sweep.name}: ${d}/${t} runs`) : (d, t) => (beat.status(`${sweep.name}: ${d}/${t} runs`), beat.poke()));
  } catch (e) {
    if (e instanceof WorkloadError) throw new UsageError(`simulate: ${e.message}`);
    throw e;
  } finally {
    beat.stop();
    if (io.tty) io.err("\r\x1b[K");
  }
  const files: string[] = [];
  const findings = sr.results.flatMap((r) => r.findings);
  const findingFiles = dir !== null ? writeFindings(dir, sweep.name, findings) : [];
  if (dir !== null) {
    for (const [name, svg] of chartsOf(sr)) {
      const p = join(dir, name);
      writeFileSync(p, svg);
      files.push(p);
    }
    const csv = join(dir, `${sweep.name}.csv`);
    writeFileSync(csv, formatCsv(sr));
    files.push(csv);
    files.push(...findingFiles);
  }
  if (o.json) {
    io.out(JSON.stringify({ ...jsonHeader("simulate"), costs: costs.figures, ...(jsonOf(sr, findingFiles) as object), files }, null, 2) + "\n");
  } else if (o.csv) {
    io.out(formatCsv(sr));
  } else {
    io.out(`tdxmc ${VERSION} simulate ${sweep.name}: ${sweep.description}\n`);
    io.out(`seed ${seed}; costs: ${o.costs ?? "defaults (tdxmc simulate --print-costs)"}; times are simulated, not measured\n\n`);
    io.out(formatTable(sr));
    if (findings.length > 0) {
      io.out(`\nFindings (replay with: tdxmc replay FILE):\n`);
      findings.forEach((f, i) => io.out(`  ${f.property} in ${f.scenario.name} on ${f.preset}: ${f.message}${findingFiles[i] ? ` -> ${findingFiles[i]}` : ""}\n`));
    }
    if (files.length > 0) io.out(`\nFiles:\n${files.map((f) => `  ${f}\n`).join("")}`);
  }
  return findings.length > 0 ? EXIT.violation : EXIT.ok;
}

function runScenarioFile(file: string, o: SimulateOptions, io: SimulateIo, costs: CostModel, seed: number, dir: string | null): number {
  const sf = loadScenarioFile(file);
  const presets = parsePresets(o.protocol) ?? sf.presets ?? Object.keys(PRESETS).filter((p) => p.startsWith("upstream-"));
  const sets = parseSets(o.set);
  const mv = parseModuleVersion(o.moduleVersion) as Protocol["module"] | undefined;
  if (dir !== null) prepareDir(dir);
  const sc = sf.scenario;
  const vcpuThreads = sc.threads.filter((t) => t.kind === "vcpu" || t.kind === "fault").length;
  const results = presets.map((p) => {
    const { scenario: _s, program: _p, ...r } = simulateScenario(sc, { kind: "faults", vcpus: Math.max(1, vcpuThreads), pages: (sc.geometry?.fanout ?? 2) ** (sc.geometry?.levels ?? 3) }, vcpuThreads, {
      preset: p,
      overrides: sets,
      costs,
      seed,
      ...(mv ? { module: mv } : {}),
    });
    return { ...r, protocol: p };
  });
  const sr: SweepResult = {
    sweep: { name: sc.name, description: `scenario file ${file}`, protocols: presets.map((p) => ({ label: p, preset: p })), workloads: ["faults"], x: "vcpus", xs: [Math.max(1, vcpuThreads)] },
    seed,
    results,
  };
  const findings = results.flatMap((r) => r.findings);
  const files = dir !== null ? writeFindings(dir, sc.name, findings) : [];
  if (o.json) io.out(JSON.stringify({ ...jsonHeader("simulate"), costs: costs.figures, ...(jsonOf(sr, files) as object), files }, null, 2) + "\n");
  else if (o.csv) io.out(formatCsv(sr));
  else {
    io.out(`tdxmc ${VERSION} simulate ${file}: the scenario's threads under the timed scheduler, seed ${seed}\n\n`);
    io.out(formatTable(sr).replace(/^faults/gm, "file  "));
    if (findings.length > 0) {
      io.out(`\nFindings (replay with: tdxmc replay FILE):\n`);
      findings.forEach((f, i) => io.out(`  ${f.property} on ${f.preset}: ${f.message}${files[i] ? ` -> ${files[i]}` : ""}\n`));
    }
    if (files.length > 0) io.out(`\nFiles:\n${files.map((f) => `  ${f}\n`).join("")}`);
  }
  return findings.length > 0 ? EXIT.violation : EXIT.ok;
}

/** Register `simulate` on the program (src/cli/main.ts calls this). */
export function registerSimulate(program: Command, sub: (c: Command) => Command, io: () => SimulateIo, setCode: (c: number) => void): void {
  sub(
    program
      .command("simulate")
      .description("timed simulation of workloads on the same model: throughput, latency, BUSY, retries, mmu_lock hold/wait, time in the module")
      .argument("[sweep|file.yaml]", "a built-in sweep (default, boot-presets, zero-step, teardown) or a scenario file")
      .option("--workload <kinds>", `ad-hoc sweep: ${WORKLOAD_KINDS.join(", ")} (comma-separated)`)
      .option("--vcpus <list>", "vCPU counts, e.g. 1,2,4,8")
      .option("--pages <list>", "4K pages per workload point (above 25: sampled and extrapolated)")
      .option("--gib <list>", "memory in GiB instead of --pages")
      .option("--literal", "simulate points above 25 pages at size, up to 1 GiB, instead of sampling and extrapolating")
      .option("--writers <n>", "conversion / punch-hole: userspace threads", intOption("--writers", 1))
      .option("--protocol <preset[,preset]>", "presets to compare (default: the sweep's)")
      .option("--set <switch=value>", "switch override for every protocol (repeatable)", collect)
      .option("--module-version <version>", "TDX module version (1.5.16, 1.5.20, 1.5.25)")
      .option("--seed <n>", "seed of the simulation's random choices and jitter (default 1)", intOption("--seed"))
      .option("--costs <file>", "cost model (YAML; default: tdxmc simulate --print-costs)")
      .option("--print-costs", "print the default cost model and exit")
      .option("--list", "list the built-in sweeps and workloads")
      .addOption(new Option("--json", "machine-readable output").conflicts("csv"))
      .option("--csv", "CSV output")
      .option("--charts <dir>", "where SVG charts, the CSV and finding files go (default ./tdxmc-sim)")
      .option("--no-charts", "write no files")
      .addHelpText(
        "after",
        `
Examples:
  tdxmc simulate                                # upstream presets x boot and conversion, 1-8 vCPUs
  tdxmc simulate teardown                       # HKID assigned vs released first, 4-64 vCPUs, 18 GiB
  tdxmc simulate --workload boot --vcpus 1,4,8,14 --protocol upstream-6.19 --set local-retry=off
  tdxmc simulate --workload teardown --vcpus 8 --gib 1,2,4,8 --json
  tdxmc simulate --workload boot --vcpus 16 --gib 1 --literal   # 262 144 pages at size, not extrapolated (~1 min)
  tdxmc simulate --print-costs > costs.yaml     # edit, then --costs costs.yaml

Times are simulated from the cost model, never measured on this machine; a rerun with the same seed
prints and writes the same bytes. Exit 0, 1 when a simulation found a violation (each written as a
file that tdxmc replay opens), 2 on bad input.`,
      )
      .action((a: string | undefined, opts: SimulateOptions) => {
        setCode(runSimulate(a === undefined ? [] : [a], opts, io()));
      }),
  );
}
