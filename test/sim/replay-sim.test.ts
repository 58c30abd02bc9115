// Findings of simulations past the checker's sizes replay (issue: "a KVM_BUG_ON or a violation found
// in a simulation is a finding: it is reported with a replayable schedule that tdxmc replay opens"):
// the finding file records what rebuilds the simulated program (src/sim/record.ts) and `replay`
// reaches the same property at the same step, by the engine's replay or by re-simulation
// (src/cli/simreplay.ts).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram, type Scenario } from "../../src/kvm/index.js";
import { defaults } from "../../src/sim/costs.js";
import { simulateScenario } from "../../src/sim/run.js";
import { writeFindings } from "../../src/cli/simulate.js";
import { resolveSim, runResimulate } from "../../src/cli/simreplay.js";
import { readSimRecord } from "../../src/sim/record.js";
import { run } from "../helpers/run-cli.js";
import { parseSchedule, replay } from "../../src/engine/index.js";
import { expandSchedule } from "../../src/cli/replayspec.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tdxmc-simreplay-"));

interface ReplayJson {
  reproduced: boolean;
  recordedProperty: string;
  mode: string;
  recordedStep: number;
  step?: number | null;
  steps?: number;
  violations: { property: string; step?: number }[];
}

const oneLine = (r: { code: number; out: string; err: string }): void => {
  expect(r.code).toBe(2);
  expect(r.err.trim().split("\n")).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at /);
};

describe("tdxmc replay of a simulation's finding past the checker's sizes", () => {
  // Dynamic PAMT with 4 vCPUs: the simulation sizes the PAMT page pool for the vCPUs' caches (the
  // checker builds 30 pages). The ablation pamt-lock=off lets two first gets of a range both issue
  // PAMT.ADD (src/kvm/ablations.ts): the loser fails (pamt-add-remove-succeed) during the boot.
  it("dpamt with 4 vCPUs and a broken switch: replayed by the engine to the same property and step, which the checker's program does not reach", async () => {
    const dir = tmp();
    const sim = await run(["simulate", "--workload", "boot", "--vcpus", "4", "--protocol", "dpamt", "--set", "pamt-lock=off", "--charts", dir]);
    expect(sim.code).toBe(1);
    const name = readdirSync(dir).find((f) => f.includes("finding") && f.includes("pamt-add-remove-succeed"));
    expect(name).toBeTruthy();
    const file = join(dir, name!);
    const f = JSON.parse(readFileSync(file, "utf8")) as { steps: number; schedule: string; scenario: Scenario; simulation: { pamtPoolPages: number; step: number; workload: { vcpus: number } } };
    // Not the checker's 30 pages: this program is not what `tdxmc check` builds, and along the same
    // schedule the checker's program does not violate the property (what `replay` rebuilt before).
    expect(f.simulation.pamtPoolPages).toBeGreaterThan(30);
    expect(f.simulation.step).toBe(f.steps);
    const checkers = replay(buildProgram(f.scenario, "dpamt", { "pamt-lock": "off" }), parseSchedule(expandSchedule(f.schedule, f.steps)), ["pamt-add-remove-succeed"]);
    expect(checkers.violations).toEqual([]);
    const rep = await run(["replay", file, "--json"]);
    expect(rep.code).toBe(1);
    const j = JSON.parse(rep.out) as ReplayJson;
    expect(j.mode).toBe("engine");
    expect(j.recordedProperty).toBe("pamt-add-remove-succeed");
    expect(j.reproduced).toBe(true);
    expect(j.step).toBe(f.steps);
    // Re-simulated from the seed and costs: the same property at the same step.
    const again = await run(["replay", file, "--resimulate", "--json"]);
    expect(again.code).toBe(1);
    const k = JSON.parse(again.out) as ReplayJson;
    expect(k.mode).toBe("re-simulated");
    expect(k.reproduced).toBe(true);
    expect(k.violations.find((v) => v.property === "pamt-add-remove-succeed")?.step).toBe(f.steps);
    // The viewer's trace format opens it as it opens a checker's counterexample.
    const itf = await run(["replay", file, "--format", "itf"]);
    expect(itf.code).toBe(1);
    expect(JSON.parse(itf.out).states.length).toBeGreaterThan(f.steps / 2);
    // Which replay a finding gets: the engine's up to 30 threads at model size, else re-simulation.
    const raw = JSON.parse(readFileSync(file, "utf8")) as { simulation: Record<string, unknown> };
    expect(resolveSim(raw, "f", false).mode).toBe("engine");
    expect(resolveSim({ ...raw, simulation: { ...raw.simulation, threads: 31 } }, "f", false).why).toMatch(/^31 threads/);
    expect(resolveSim({ ...raw, simulation: { ...raw.simulation, invariantStride: 4 } }, "f", false).mode).toBe("resimulate");
    expect(resolveSim({ ...raw, schedule: "" }, "f", false).mode).toBe("resimulate");
    // Mismatched input: the same file with another vCPU count is another program (one line, exit 2).
    const bad = JSON.parse(readFileSync(file, "utf8")) as { simulation: { workload: { vcpus: number }; point: { vcpus: number } } };
    bad.simulation.workload.vcpus = 5;
    bad.simulation.point.vcpus = 5;
    writeFileSync(join(dir, "bad.json"), JSON.stringify(bad));
    const mis = await run(["replay", join(dir, "bad.json")]);
    oneLine(mis);
    expect(mis.err).toMatch(/recorded against another model or scenario/);
    // A schedule that is not the recorded one (its digest is in the record): one line, exit 2.
    const other = JSON.parse(readFileSync(file, "utf8")) as { schedule: string };
    other.schedule += ".0";
    writeFileSync(join(dir, "other.json"), JSON.stringify(other));
    const sch = await run(["replay", join(dir, "other.json")]);
    oneLine(sch);
    expect(sch.err).toMatch(/not the one the simulation recorded/);
    // --resimulate is for a simulation's finding file only.
    oneLine(await run(["replay", "seed-race@seed:0123456789abcdef:z2:0", "--resimulate"]));
    // A malformed record: one line naming the field.
    const broken = JSON.parse(readFileSync(file, "utf8")) as { simulation: Record<string, unknown> };
    broken.simulation.seed = "one";
    writeFileSync(join(dir, "broken.json"), JSON.stringify(broken));
    const br = await run(["replay", join(dir, "broken.json")]);
    oneLine(br);
    expect(br.err).toContain(`"simulation.seed"`);
  });

  // 32 vCPUs (32 threads): past the checker's 30 (thread sets in 31-bit masks). On the seed preset
  // with module 1.5.25 the guest's ACCEPT takes the S-EPT entry lock the AUG wants and seed's KVM
  // treats the BUSY as fatal (KVM_BUG_ON; test/sim/simulate.test.ts). The CLI makes such a program
  // only at size (--literal, ~6 s of CPU to build the 1 GiB layout); here the library's scenario, whose
  // vCPU ids the scenario validator (the checker's caps) would refuse, is re-simulated directly.
  it("more than 30 threads: re-simulated to the same property and step; another seed is not the same finding", () => {
    const sc: Scenario = {
      name: "many-vcpus",
      description: "32 vCPUs accept 64 pages",
      geometry: { levels: 2, fanout: 8 },
      initial: {},
      threads: Array.from({ length: 32 }, (_, v) => ({ kind: "vcpu" as const, vcpu: v, actions: [{ op: "accept" as const, gfn: 2 * v }, { op: "accept" as const, gfn: 2 * v + 1 }] })),
      expected: {},
    };
    expect(() => buildProgram(sc, "seed")).toThrow(/at most 30 threads/);
    const r = simulateScenario(sc, { kind: "boot", vcpus: 32, pages: 64 }, 32, { preset: "seed", module: "1.5.25", costs: defaults(), seed: 1 });
    const finding = r.findings.find((f) => f.property === "no-kvm-bug-on");
    expect(finding).toBeTruthy();
    expect(finding!.sim.threads).toBe(32);
    // Through a file and back (what `tdxmc replay` reads).
    const [file] = writeFindings(tmp(), "many", [finding!]);
    const rec = readSimRecord((JSON.parse(readFileSync(file!, "utf8")) as { simulation: unknown }).simulation, file!);
    const replayOf = (record: typeof rec): { code: number; j: ReplayJson } => {
      let out = "";
      const code = runResimulate({ record, scenario: finding!.scenario, base: sc, mode: "resimulate", why: "32 threads" }, "many-vcpus", "no-kvm-bug-on", finding!.fingerprint, { json: true }, (s) => (out += s));
      return { code, j: JSON.parse(out) as ReplayJson };
    };
    const { code, j } = replayOf(rec);
    expect(code).toBe(1);
    expect(j.reproduced).toBe(true);
    expect(j.recordedStep).toBe(finding!.step);
    // The re-simulation stops at the finding's step (a KVM_BUG_ON does not end a run).
    expect(j.steps).toBe(finding!.step);
    expect(j.violations.find((v) => v.property === "no-kvm-bug-on")?.step).toBe(finding!.step);
    // Another seed is another run: not the recorded finding at its step along its schedule.
    let other: boolean;
    try {
      other = replayOf({ ...rec, seed: 7 }).j.reproduced;
    } catch (e) {
      expect((e as Error).message).toMatch(/along another schedule/);
      other = false;
    }
    expect(other).toBe(false);
    // The viewer and ITF follow the engine's replay: a re-simulated finding is refused in one line.
    expect(() => runResimulate({ record: rec, scenario: finding!.scenario, base: sc, mode: "resimulate", why: "32 threads" }, "x", "no-kvm-bug-on", finding!.fingerprint, { format: "itf" }, () => {})).toThrow(/re-simulated \(32 threads\)/);
  });
});
