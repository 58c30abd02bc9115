import { describe, expect, it } from "vitest";
import { buildProgramWithModel, checkScenario, SCENARIOS, type Scenario } from "../../src/kvm/index.js";
import { moduleVersionFor, PRESETS } from "../../src/kvm/protocol.js";
import { run as cli } from "../helpers/run-cli.js";

// The v10/v11-era presets run on TDX module 1.0 by default; a scenario's own module
// pin (and --module-version) beats the preset's. Each test fails on the old model, where every
// preset ran on 1.5.25 and "1.0" was refused.
const pinned = (sc: Scenario, version: "1.0" | "1.5.25"): Scenario => ({ ...sc, module: { ...(sc.module ?? {}), version } });
const versionOf = (sc: Scenario, preset: string): string => buildProgramWithModel(sc, preset).model.tdx.mod.version;

describe("module version per preset", () => {
  it("seed, seed-seamcall-lock and v11 default to module 1.0; the upstream presets to 1.5.25", () => {
    for (const p of ["seed", "seed-seamcall-lock", "v11"]) {
      expect(PRESETS[p]!.module).toBe("1.0");
      expect(versionOf(SCENARIOS["seed-race"]!, p)).toBe("1.0");
    }
    for (const p of ["upstream-6.16", "upstream-6.19", "upstream-7.2", "dpamt"]) expect(versionOf(SCENARIOS["seed-race"]!, p)).toBe("1.5.25");
  });
  it("a scenario's own pin beats the preset's", () => {
    expect(SCENARIOS["fault-vs-zero-step-1.5.16"]!.module?.version).toBe("1.5.16");
    expect(versionOf(SCENARIOS["fault-vs-zero-step-1.5.16"]!, "v11")).toBe("1.5.16");
    expect(versionOf(pinned(SCENARIOS["seed-race"]!, "1.5.25"), "v11")).toBe("1.5.25");
    expect(moduleVersionFor(undefined, "v11")).toBe("1.0");
    expect(moduleVersionFor("1.5.20", "v11")).toBe("1.5.20");
    expect(moduleVersionFor(undefined, "upstream-7.2")).toBe("1.5.25");
  });
});

describe("verdicts that depend on the module (the v11 column)", () => {
  const fva = SCENARIOS["fault-vs-accept"]!;
  it("fault-vs-accept@v11 (A/D fix applied): verified on 1.0 (ACCEPT never locks a FREE entry), KVM_BUG_ON on 1.5.25 ([PATCH v10 088/108] retries only BUSY|SEPT)", () => {
    // mirror-ad=same-spte isolates the module: v11's own value (propagate) bugs the VM on a second fault either way
    const o = { minimize: false, overrides: { "mirror-ad": "same-spte" } };
    expect(checkScenario(fva, "v11", o).verdict).toBe("verified");
    const r = checkScenario(pinned(fva, "1.5.25"), "v11", o);
    expect(r.verdict).toBe("violated:no-kvm-bug-on");
    expect(r.counterexample!.message).toMatch(/TDX_OPERAND_BUSY\|RCX/);
  });
  it("init-mem-region-vs-zap@v11: on 1.0 the pre-finalize REMOVE needs a TRACK v11's tdx_track() skips; 1.5.25 does not", () => {
    const sc = SCENARIOS["init-mem-region-vs-zap"]!;
    const r = checkScenario(sc, "v11", { minimize: false });
    expect(r.verdict).toBe("violated:removal-protocol");
    expect(r.counterexample!.message).toMatch(/TDX_TLB_TRACKING_NOT_DONE/);
    expect(checkScenario(pinned(sc, "1.5.25"), "v11", { minimize: false }).verdict).toBe("verified");
  });
  it("dpamt-two-vcpus-one-range@seed: two AUGs of different GFNs contend on 1.0's exclusive tree lock; not on 1.5.25", () => {
    const sc = SCENARIOS["dpamt-two-vcpus-one-range"]!;
    expect(checkScenario(sc, "seed", { minimize: false }).verdict).toBe("violated:no-warn");
    expect(checkScenario(pinned(sc, "1.5.25"), "seed", { minimize: false }).verdict).toBe("verified");
    // the pre-v10 seamcall_lock serializes the AUGs
    expect(checkScenario(sc, "seed-seamcall-lock", { minimize: false }).verdict).toBe("verified");
  });
});

describe("CLI: --module-version 1.0 and scenario files", () => {
  it("--module-version 1.0 is accepted and reported; --json names each cell's module", async () => {
    const r = await cli(["check", "seed-race", "--protocol", "upstream-7.2,v11", "--module-version", "1.0", "--json"]);
    expect(r.err).not.toMatch(/unknown TDX module version/);
    const cells = JSON.parse(r.out).cells as { preset: string; provenance: { moduleVersion: string } }[];
    expect(cells.map((c) => [c.preset, c.provenance.moduleVersion])).toEqual([["upstream-7.2", "1.0"], ["v11", "1.0"]]);
    const d = await cli(["check", "seed-race", "--protocol", "upstream-7.2,v11", "--json"]);
    expect((JSON.parse(d.out).cells as { provenance: { moduleVersion: string } }[]).map((c) => c.provenance.moduleVersion)).toEqual(["1.5.25", "1.0"]);
  });
  it("an unknown version is refused with one line naming the option, exit 2", async () => {
    const r = await cli(["check", "seed-race", "--module-version", "0.9"]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/--module-version.*0\.9.*1\.0, 1\.5\.16/);
  });
});
