// The command line, in-process: each command's output and exit codes, bad input included.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cellExit, MAIN_JOB_WIDTH, presetHead } from "../../src/cli/check.js";
import { worstExit } from "../../src/cli/errors.js";
import type { CellResult } from "../../src/cli/cell.js";
import { parseScenarioText, scenarioJsonSchema } from "../../src/cli/scenario-file.js";
import { stringify } from "yaml";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parseReplayRef, formatReplayRef } from "../../src/cli/replayspec.js";
import { KVM_PROPERTIES, PRESETS, SCENARIOS, SWITCHES } from "../../src/kvm/index.js";
import { PROPERTY_INFO } from "../../src/cli/properties.js";

const FIX = join(import.meta.dirname, "fixtures");

import { run } from "../helpers/run-cli.js";

afterEach(() => vi.restoreAllMocks());

/** Bad input: exit 2, one line on stderr naming the problem, nothing on stdout. */
async function bad(args: string[], msg: string | RegExp): Promise<void> {
  const r = await run(args);
  expect(r.code, `${args.join(" ")}: ${r.err}`).toBe(2);
  expect(r.err.trim().split("\n")).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.err).toMatch(msg);
  expect(r.out).toBe("");
}

const SEED = ["check", "seed-race", "--protocol", "seed", "--strategy", "bounded"];

describe("check: the seed race", () => {
  it("on seed: the email's table, exit 0 (the violation is expected)", async () => {
    const r = await run(SEED);
    expect(r.code).toBe(0); // the violation found is the cell's expected verdict
    expect(r.out).toMatch(/^seed-race\s+agreement\s+\d+ ok\s*$/m);
    expect(r.out).toContain("=== seed-race on seed: violated mirror-sept-agreement (expected) ===");
    expect(r.out).toContain("L1 gfn 0: mirror NP (not present) but S-EPT PENDING pfn 1");
    // One column per thread plus the state that matters.
    expect(r.out).toMatch(/#\s+\|\s+vCPU0\s+\|\s+zapper\s+\|\s+mirror L1 gfn 0\s+\|\s+S-EPT L1 gfn 0\s+\|\s+mmu_lock/);
    const order = ["try_cmpxchg64(sptep, old, new) [leaf, mirror first]", "xchg(sptep, REMOVED_SPTE)", "SEAMCALL tdh_mem_range_block", "WRITE_ONCE(sptep, SHADOW_NONPRESENT_VALUE)", "SEAMCALL tdh_mem_page_aug"];
    let at = 0;
    for (const s of order) {
      const i = r.out.indexOf(s, at);
      expect(i, s).toBeGreaterThan(at);
      at = i;
    }
    expect(r.out).toMatch(/\| PENDING pfn=1\s+\|/);
    // As in the email, the AUG runs in one piece after the zap: the last row of the table.
    expect(r.out).not.toContain("preempted after");
    const rows = r.out.split("\n").filter((l) => /^\s*\d+ \|/.test(l));
    expect(rows[rows.length - 1]).toMatch(/^\s*\d+ \| SEAMCALL tdh_mem_page_aug\s+\|\s+\|\s+\| PENDING pfn=1/);
    expect(r.out).toMatch(/replay: tdxmc replay seed-race@seed:[0-9a-f]{16}:z2:0(\/\d+)?x\d+\./);
    expect(r.out).toMatch(/Exit 0\.\n$/);
  });

  it("on upstream-6.19: verified exhaustively, exit 0", async () => {
    const r = await run(["check", "seed-race", "--protocol", "upstream-6.19"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seed-race\s+verified\s+\d+ ok\s*$/m);
    expect(r.out).toContain("1 of 1 cell with an expected verdict has it. Exit 0.");
  });

  it("is deterministic: byte-identical standard output", async () => {
    const a = await run(SEED);
    const b = await run(SEED);
    expect(a.out).toBe(b.out);
    expect(a.out).not.toMatch(/\d+\.\d+ ?s\b/);
  });

  it("--expand and --raw show more rows", async () => {
    const folded = (await run(SEED)).out.split("\n").length;
    const expanded = (await run([...SEED, "--expand"])).out.split("\n").length;
    const raw = (await run([...SEED, "--raw"])).out;
    expect(expanded).toBeGreaterThan(folded);
    // seed runs on TDX module 1.0: AUG takes the S-EPT tree lock exclusively (no entry lock)
    expect(raw).toContain("tdh_mem_page_aug: write entry (tree lock EX)");
  });

  it("--timings adds times", async () => {
    const r = await run([...SEED, "--timings"]);
    expect(r.out).toContain("wall time per cell (s):");
  });

  it("--module-version is part of the provenance and of the replay string", async () => {
    const r = await run([...SEED, "--module-version", "1.5.16", "--json"]);
    const c = JSON.parse(r.out).cells[0];
    expect(c.provenance.moduleVersion).toBe("1.5.16");
    expect(c.counterexamples[0].replay).toMatch(/^seed-race@seed\/m1\.5\.16:[0-9a-f]{16}:z2:/);
    expect((await run(["replay", c.counterexamples[0].replay])).code).toBe(1);
    // The same schedule against the default module is another model.
    await bad(["replay", c.counterexamples[0].replay.replace("/m1.5.16", "")], /recorded against another model or scenario/);
  });

  it("--set overrides a switch: seed with the freeze install", async () => {
    const r = await run(["check", "seed-race", "--protocol", "seed", "--set", "install=freeze", "--properties", "mirror-sept-agreement,mirror-sept-agreement-final"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("switches set on the command line: install=freeze");
  });

  it("a sampling strategy that finds nothing exits 0, or 3 with --require-exhaustive", async () => {
    const a = await run(["check", "seed-race", "--protocol", "upstream-6.19", "--strategy", "random", "--max-executions", "20", "--seed", "1"]);
    expect(a.code).toBe(0);
    expect(a.out).toContain("no violation found (not exhaustive: strategy random, 20 executions)");
    const b = await run(["check", "seed-race", "--protocol", "upstream-6.19", "--strategy", "random", "--max-executions", "20", "--seed", "1", "--require-exhaustive"]);
    expect(b.code).toBe(3);
  });

  it("a limit that stops an exhaustive run: exit 3 with partial statistics", async () => {
    const r = await run(["check", "seed-race", "--protocol", "upstream-6.19", "--max-executions", "2"]);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/seed-race\s+stopped\s+2 !!/);
    expect(r.out).toContain("1 stopped by a budget, no verdict");
    expect(r.out).toContain("stopped by the max-executions budget (2 executions), no verdict; raise it with --max-executions");
  });
});

describe("check --json and --out", () => {
  it("--no-restore re-runs thread code: the same verdict, states and executions, more values re-fed, recorded in provenance", async () => {
    const args = ["check", "two-vcpus-same-gfn", "--protocol", "upstream-6.19", "--json"];
    const on = JSON.parse((await run(args)).out).cells[0];
    const off = JSON.parse((await run([...args, "--no-restore"])).out).cells[0];
    // por: "off": livelock is checked, so no partial-order reduction runs (docs/design.md).
    expect(on.provenance.reductions).toEqual({ fusion: true, restore: true, por: "off" });
    expect(off.provenance.reductions).toEqual({ fusion: true, restore: false, por: "off" });
    expect(off.verdict).toBe(on.verdict);
    expect({ ...off.stats, replaySteps: 0, wallMs: 0, firstViolationMs: 0 }).toEqual({ ...on.stats, replaySteps: 0, wallMs: 0, firstViolationMs: 0 });
    expect(off.stats.replaySteps).toBeGreaterThan(on.stats.replaySteps);
  });

  it("--json carries provenance and no timings unless asked", async () => {
    const r = await run([...SEED, "--json"]);
    expect(r.code).toBe(0); // the violation found is the cell's expected verdict
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ tool: "tdxmc", version: "0.1.0", formatVersion: 1, command: "check", exitCode: 0 });
    const c = j.cells[0];
    expect(c.provenance).toMatchObject({ tdxmc: "0.1.0", formatVersion: 1, scenario: "seed-race", preset: "seed", moduleVersion: "1.0", strategy: "bounded" });
    expect(c.provenance.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(c.provenance.switches).toMatchObject({ install: "mirror-first", "zap-lock": "read" });
    expect(c.verdict).toBe("violated:mirror-sept-agreement");
    expect(c.asExpected).toBe(true);
    expect(c.stats.wallMs).toBeUndefined();
    expect(c.timings).toBeUndefined();
    expect(c.counterexamples[0].kvmSteps.length).toBeGreaterThan(5);
    const t = JSON.parse((await run([...SEED, "--json", "--timings"])).out);
    expect(typeof t.cells[0].timings.wallMs).toBe("number");
  });

  it("--out writes a replayable file; replaying it gives the same violation", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-out-"));
    const r = await run([...SEED, "--out", dir]);
    expect(r.code).toBe(0); // the violation found is the cell's expected verdict
    const files = readdirSync(dir);
    expect(files).toEqual(["seed-race@seed.mirror-sept-agreement.json"]);
    const path = join(dir, files[0]!);
    const f = JSON.parse(readFileSync(path, "utf8"));
    expect(f).toMatchObject({ format: "tdxmc-counterexample", formatVersion: 1, property: "mirror-sept-agreement" });
    expect(f.provenance.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const rp = await run(["replay", path]);
    expect(rp.code).toBe(1);
    expect(rp.out).toContain("violated: mirror-sept-agreement — L1 gfn 0: mirror NP (not present) but S-EPT PENDING pfn 1");
    expect(rp.out).toContain("(matches)");
    // Against another model: refused.
    writeFileSync(join(dir, "other.json"), JSON.stringify({ ...f, provenance: { ...f.provenance, fingerprint: "0123456789abcdef" } }));
    await bad(["replay", join(dir, "other.json")], /recorded against another model or scenario \(fingerprint 0123456789abcdef/);
    // A schedule the model cannot follow.
    writeFileSync(join(dir, "diverge.json"), JSON.stringify({ ...f, schedule: "v1:1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1" }));
    await bad(["replay", join(dir, "diverge.json")], /replay: (step \d+|the execution ended)/);
    writeFileSync(join(dir, "junk.json"), "{ not json");
    await bad(["replay", join(dir, "junk.json")], /not a tdxmc counterexample file \(not JSON\)/);
  });

  it("--out on a file is bad input, and nothing is written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-out-"));
    const file = join(dir, "plain");
    writeFileSync(file, "x");
    await bad([...SEED, "--out", file], /option --out: .*plain exists and is not a directory/);
    expect(readdirSync(dir)).toEqual(["plain"]);
    // Bad input found before running writes nothing either.
    const d2 = join(dir, "new");
    await bad(["check", "seed-race", "--protocol", "nope", "--out", d2], /unknown preset 'nope'/);
    expect(existsSync(d2)).toBe(false);
  });
});

describe("replay", () => {
  it("replays the string printed by check; --explain names functions and effects", async () => {
    const c = await run(SEED);
    const ref = /replay: tdxmc replay (\S+)/.exec(c.out)![1]!;
    const r = await run(["replay", ref]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("violated: mirror-sept-agreement");
    const e = await run(["replay", ref, "--explain"]);
    expect(e.out).toContain("What each step models and does:");
    expect(e.out).toMatch(/vCPU0: tdp_mmu_set_spte_atomic\s+\[arch\/x86\/kvm\/mmu\/tdp_mmu\.c\]/);
    expect(e.out).toContain("- mirror L1 gfn 0: NP -> LEAF(pfn 1)");
    expect(e.out).toMatch(/vCPU0: SEAMCALL tdh_mem_page_aug\s+\[TDX module\]/);
    expect(e.out).toContain("- S-EPT L1 gfn 0: FREE -> PENDING pfn=1");
  });

  it("--json", async () => {
    const c = await run(SEED);
    const ref = /replay: tdxmc replay (\S+)/.exec(c.out)![1]!;
    const r = await run(["replay", ref, "--json"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ tool: "tdxmc", command: "replay", exitCode: 1, violations: [{ property: "mirror-sept-agreement" }] });
    expect(j.kvmSteps.some((k: { label: string }) => k.label === "SEAMCALL tdh_mem_page_aug")).toBe(true);
  });

  it("a replay string for another model (preset) is refused with exit 2", async () => {
    const c = await run(SEED);
    const ref = /replay: tdxmc replay (\S+)/.exec(c.out)![1]!;
    await bad(["replay", ref.replace("@seed:", "@seed-seamcall-lock:")], /recorded against another model or scenario/);
    await bad(["replay", "seed-race@seed:v1:0.1"], /no fingerprint/);
    await bad(["replay", "seed-race@seed:0123456789abcdef:z1:0x3.1"], /recorded against another model/);
    await bad(["replay", "no-such@seed:0123456789abcdef:v1:0"], /unknown scenario 'no-such'/);
    await bad(["replay", "garbage"], /neither a file nor a replay string/);
  });

  it("replay strings round-trip", () => {
    const r = { target: "seed-race", preset: "seed", overrides: { install: "freeze" }, moduleVersion: "1.5.16", fingerprint: "0123456789abcdef", schedule: "v1:*1.0.1:0" };
    // A v1 schedule is also a v2 one (every item one model step); it is written and read back as v2.
    const asV2 = (x: typeof r) => ({ ...x, schedule: x.schedule.replace(/^v1:/, "v2:") });
    expect(parseReplayRef(formatReplayRef(r))).toEqual(asV2(r));
    const long = { ...r, schedule: "v1:*1,0.0.0.0.0.1:0.1:0.1:0.2.1.1.1" };
    expect(formatReplayRef(long)).toContain(":z2:*1,0.0x4.1:0x3.2.1x3");
    expect(parseReplayRef(formatReplayRef(long))).toEqual(asV2(long));
    // Older z1 strings still read (as v1: one model step per item).
    expect(parseReplayRef("demo:lost-update:0123456789abcdef:z1:0x3.1").schedule).toBe("v1:0.0.0.1");
    expect(parseReplayRef("demo:lost-update:0123456789abcdef:v1:0.1")).toEqual({ target: "demo:lost-update", overrides: {}, fingerprint: "0123456789abcdef", schedule: "v1:0.1" });
  });
});

describe("engine demos stay reachable", () => {
  it("check --demo: every demo has its expected verdict, exit 0", async () => {
    const r = await run(["check", "--demo"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/demo:lost-update\s+no-lost-update\s+violated no-lost-update\s+yes/);
    expect(r.out).toMatch(/demo:peterson\s+verified\s+verified\s+yes/);
    expect(r.out).toMatch(/demo:mutual-spin\s+livelock\s+violated livelock\s+yes/);
    expect(r.out).not.toMatch(/\bNO\b/);
  });

  it("demo:NAME replays through its printed string; TARGET SCHEDULE works too", async () => {
    const c = await run(["check", "demo:lost-update"]);
    expect(c.code).toBe(0); // the violation found is the cell's expected verdict
    const ref = /replay: tdxmc replay (\S+)/.exec(c.out)![1]!;
    const r = await run(["replay", ref]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("violated: no-lost-update");
    const sched = ref.slice(ref.search(/[vz][12]:/));
    expect((await run(["replay", "demo:lost-update", sched])).code).toBe(1);
    await bad(["replay", "demo:lost-update", "v9:0.1"], /must start with z2:, z1:, v2: or v1:/);
  });
});

describe("bad input: one line, exit 2", () => {
  it("names the problem", async () => {
    await bad(["check", "no-such-thing"], /unknown scenario 'no-such-thing' \(built-in: seed-race/);
    await bad(["check", "seed-race", "--protocol", "v12"], /unknown preset 'v12'.* \(presets: seed, /);
    await bad(["check", "seed-race", "--set", "zap-lock"], /--set: 'zap-lock' is not SWITCH=VALUE/);
    await bad(["check", "seed-race", "--set", "warp=on"], /unknown switch 'warp'/);
    await bad(["check", "seed-race", "--set", "zap-lock=sideways"], /switch 'zap-lock' has no value 'sideways'/);
    await bad(["check", "seed-race", "--properties", "happiness"], /unknown property 'happiness'/);
    await bad(["check", "seed-race", "--module-version", "2.0"], /unknown TDX module version '2.0'/);
    await bad(["check", "seed-race", "--max-executions", "-5"], /--max-executions/);
    await bad(["check", "seed-race", "--time-limit", "0"], /--time-limit: '0' is not a positive integer/);
    await bad(["check", "--strategy", "magic"], /magic/);
    await bad(["check", "demo:nope"], /unknown demo 'nope'/);
    await bad(["frobnicate"], /unknown command 'frobnicate'/);
    await bad(["check", "--bogus"], /unknown option '--bogus'/);
    await bad(["check", join(FIX, "missing.yaml")], /missing\.yaml: no such file/);
    await bad(["check", join(FIX, "bad-switch.yaml")], /bad-switch\.yaml:5:3: overrides\.install: unknown value 'sideways'/);
    await bad(["check", join(FIX, "bad-yaml.yaml")], /bad-yaml\.yaml:4:1: YAML: /);
    await bad(["explain", "nothing-like-this"], /unknown switch, property, preset or scenario 'nothing-like-this'/);
  });
});

describe("scenario files", () => {
  it("check FILE uses the file's protocol and strategy; the command line overrides them", async () => {
    const f = join(FIX, "seed-race-copy.yaml");
    const a = await run(["check", f]);
    expect(a.code).toBe(0); // the violation found is the cell's expected verdict
    expect(a.out).toMatch(/^seed-race-file\s+agreement/m);
    expect(a.out).toContain("strategy bounded");
    expect(a.out).toMatch(new RegExp(`replay: tdxmc replay ${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}@seed:`));
    const ref = /replay: tdxmc replay (\S+)/.exec(a.out)![1]!;
    expect((await run(["replay", ref])).code).toBe(1);
    const b = await run(["check", f, "--protocol", "upstream-6.19", "--strategy", "dpor"]);
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/^seed-race-file\s+verified/m);
  });

  it("validate: ok files exit 0; problems name file, line and column, exit 2", async () => {
    expect((await run(["validate", join(import.meta.dirname, "../../schema/example-scenario.yaml")])).code).toBe(0);
    const ok = await run(["validate", join(FIX, "seed-race-copy.yaml")]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("seed-race-copy.yaml: ok (scenario seed-race-file)");
    const k = await run(["validate", join(FIX, "bad-kind.yaml")]);
    expect(k.code).toBe(2);
    expect(k.err).toMatch(/bad-kind\.yaml:9:5: threads\.1: kind must be one of fault, vcpu, zap/);
    const g = await run(["validate", join(FIX, "bad-gfn.yaml")]);
    expect(g.err).toMatch(/bad-gfn\.yaml:8:3: expected: unknown key 'linux-2\.4'/);
    const j = await run(["validate", "--json", join(FIX, "seed-race-copy.yaml"), join(FIX, "bad-switch.yaml")]);
    expect(j.code).toBe(2);
    const v = JSON.parse(j.out);
    expect(v.files.map((x: { ok: boolean }) => x.ok)).toEqual([true, false]);
    expect(v.files[1].problems[0]).toMatchObject({ line: 5, col: 3 });
  });

  it("every built-in scenario, written as YAML, validates (the schema keeps up with the model)", () => {
    for (const sc of Object.values(SCENARIOS)) {
      const r = parseScenarioText(stringify(sc), `${sc.name}.yaml`);
      expect(r.problems, sc.name).toEqual([]);
      const { strategy, ...rest } = sc;
      expect(r.value!.scenario).toEqual(rest);
      expect(r.value!.strategy).toBe(strategy);
    }
  });

  it("a GFN outside the geometry is caught with its line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-val-"));
    const f = join(dir, "g.yaml");
    writeFileSync(f, "name: g\nthreads:\n  - kind: fault\n    vcpu: 0\n    gfn: 99\n");
    const r = await run(["validate", f]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("g.yaml:5:5: threads.0.gfn: GFN 99 is outside the geometry (8 GFNs: 0..7)");
  });

  it("the published JSON Schema is the one the validator uses", async () => {
    const published = JSON.parse(readFileSync(join(import.meta.dirname, "../../schema/scenario.schema.json"), "utf8"));
    expect(published).toEqual(scenarioJsonSchema());
    const r = await run(["validate", "--print-schema"]);
    expect(JSON.parse(r.out)).toEqual(published);
    expect(published.properties.expected.propertyNames.enum).toEqual(Object.keys(PRESETS));
    // A JSON Schema validator agrees: every built-in scenario is valid, a broken one is not.
    const validate = new Ajv2020({ strict: false }).compile(published);
    for (const sc of Object.values(SCENARIOS)) expect(validate(JSON.parse(JSON.stringify(sc))), `${sc.name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    expect(validate({ name: "x", threads: [{ kind: "teleport" }] })).toBe(false);
    expect(validate({ name: "x", threads: [{ kind: "fault", vcpu: 0, gfn: 0 }], expected: { "linux-2.4": "verified" } })).toBe(false);
  });
});

describe("list, explain, ablate, help", () => {
  it("list names every scenario, preset, switch and property", async () => {
    const r = await run(["list"]);
    expect(r.code).toBe(0);
    for (const s of Object.keys(SCENARIOS)) expect(r.out).toContain(s);
    for (const p of Object.keys(PRESETS)) expect(r.out).toContain(p);
    for (const s of SWITCHES) expect(r.out).toContain(`  ${s.id}: ${s.title}`);
    expect(r.out).toContain("mirror-sept-agreement");
    expect(r.out).toMatch(/page-add\s+premap\*/);
    const j = JSON.parse((await run(["list", "--json"])).out);
    expect(j.switches.map((s: { id: string }) => s.id)).toEqual(SWITCHES.map((s) => s.id));
    expect(j.switches[0].values[0].source).toBeTruthy();
    expect(j.scenarios.find((s: { name: string }) => s.name === "seed-race").expected.seed).toBe("violated mirror-sept-agreement");
  });

  it("every property the model reports is described", () => {
    for (const p of KVM_PROPERTIES) expect(PROPERTY_INFO.some((x) => x.name === p), p).toBe(true);
  });

  it("explain a switch and a property", async () => {
    const s = await run(["explain", "zap-lock"]);
    expect(s.code).toBe(0);
    expect(s.out).toContain("switch zap-lock: which mmu_lock mode private leaf zaps take");
    expect(s.out).toMatch(/read \(seed\)/);
    expect(s.out).toMatch(/seed-race: violated mirror-sept-agreement on seed \(zap-lock = read\), verified on v11 \(write\); those presets also differ in install/);
    const p = await run(["explain", "mirror-sept-agreement"]);
    expect(p.out).toContain("seed-race (on seed, seed-seamcall-lock)");
  });

  it("ablate: which switch's absence breaks which property", async () => {
    const r = await run(["ablate", "seed-race", "--strategy", "bounded", "--preemptions", "2"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("ablate: seed-race on upstream-7.2");
    expect(r.out).toMatch(/^zap-lock\s+read\s+seed\s+violated\s+\d+\s+\S/m);
    expect(r.out).toMatch(/^install\s+mirror-first\s+seed\s+none found/m);
    const j = JSON.parse((await run(["ablate", "seed-race", "--strategy", "bounded", "--json"])).out);
    expect(j.rows[0]).toMatchObject({ switch: null, broken: [] });
    expect(j.rows.find((x: { switch: string; value: string }) => x.switch === "zap-lock" && x.value === "read").broken.length).toBeGreaterThan(0);
  });

  it("--all-violations: one counterexample per violated property", async () => {
    const r = await run([...SEED, "--all-violations"]);
    expect(r.code).toBe(0); // the violation found is the cell's expected verdict
    expect(r.out).toMatch(/^seed-race\s+agreement/m);
    const heads = r.out.split("\n").filter((l) => l.startsWith("=== "));
    expect(heads[0]).toBe("=== seed-race on seed: violated mirror-sept-agreement (expected) ===");
    expect(heads.length).toBeGreaterThan(1);
  });

  it("no command: help on stderr, exit 2; --version exits 0", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("Usage: tdxmc");
    expect((await run(["--version"])).out).toBe("0.1.0\n");
  });

  it("--help on every command, with examples", async () => {
    for (const c of [[], ["check"], ["replay"], ["ablate"], ["list"], ["explain"], ["validate"]]) {
      const r = await run([...c, "--help"]);
      expect(r.code, c.join(" ")).toBe(0);
      expect(r.out, c.join(" ")).toContain("Example");
    }
  });
});

describe("as a process", () => {
  it("large output through a pipe arrives whole before the launcher exits", () => {
    // What bin/tdxmc.js does (main, then process.exit), from the sources.
    const js = `import("./src/cli/main.ts").then((m) => m.main(${JSON.stringify([...SEED, "--json", "--all-violations"])}).then((c) => process.exit(c)))`;
    // A slow reader: the pipe fills, and what is still buffered must be written before the exit.
    const r = spawnSync("sh", ["-c", `"$NODE" --import tsx -e "$JS" | (sleep 1; cat)`], {
      cwd: join(import.meta.dirname, "../.."),
      env: { ...process.env, NODE: process.execPath, JS: js },
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    expect(r.stdout.length).toBeGreaterThan(65536);
    expect(JSON.parse(r.stdout).exitCode).toBe(0); // expected violation
  });
});

describe("exit codes", () => {
  const res = (verdict: string, expected?: string, ok?: boolean): CellResult =>
    ({ verdict, ...(expected ? { expected, ok } : {}), exhaustive: true, notDecided: [], stats: {} as CellResult["stats"], missingWitnesses: [], counterexamples: [], fingerprint: "" }) as CellResult;
  it("2 over 1 over 3 over 0", () => {
    expect(worstExit(0, 3)).toBe(3);
    expect(worstExit(3, 1)).toBe(1);
    expect(worstExit(1, 3)).toBe(1);
    expect(worstExit(1, 2)).toBe(2);
    expect(worstExit(2, 0)).toBe(2);
  });
  it("the main job compares with the expected verdict; a limit counts as 3", () => {
    expect(cellExit(res("violated:p", "violated:p", true), true, false)).toBe(0);
    expect(cellExit(res("violated:p", "verified", false), true, false)).toBe(1);
    expect(cellExit(res("verified", "violated:p", false), true, false)).toBe(1);
    expect(cellExit(res("incomplete", "verified", false), true, false)).toBe(3);
    expect(cellExit(res("incomplete", "violated:p", false), true, false)).toBe(3);
    expect(cellExit(res("vacuous", "verified", false), true, false)).toBe(1);
    expect(cellExit(res("no-violation-found", "verified", false), true, false)).toBe(0);
    expect(cellExit(res("no-violation-found", "verified", false), true, true)).toBe(3);
    expect(cellExit(res("error"), true, false)).toBe(2);
  });
  it("named checks report the verdict itself", () => {
    expect(cellExit(res("violated:p", "violated:p", true), false, false)).toBe(1);
    expect(cellExit(res("verified", "verified", true), false, false)).toBe(0);
    expect(cellExit(res("incomplete"), false, false)).toBe(3);
  });
});

describe("the main job", () => {
  it("prints the whole matrix (every scenario x every preset) in a fixed order", async () => {
    const r = await run(["check", "--max-executions", "1", "--jobs", "1"]);
    expect([1, 3]).toContain(r.code);
    const lines = r.out.split("\n");
    const header = lines.find((l) => l.startsWith("scenario "))!;
    expect(header.split(/\s+/).slice(1)).toEqual(Object.keys(PRESETS).map(presetHead));
    const rows = lines.slice(lines.indexOf(header) + 1, lines.indexOf(header) + 1 + Object.keys(SCENARIOS).length);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(Object.keys(SCENARIOS));
    expect(r.out).toContain("Cells that differ from their expected verdict");
    // A 160-column terminal: short heads with a legend (full names in --json), no wider line, even
    // with every cell stopped (the widest cell text; test/kvm/fidelity-matrix.test.ts).
    expect(lines.filter((l) => l.length > MAIN_JOB_WIDTH)).toEqual([]);
    for (const p of Object.keys(PRESETS).filter((x) => presetHead(x) !== x)) expect(r.out).toContain(`${presetHead(p)} = ${p}`);
  });
});
