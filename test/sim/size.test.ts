// What lets a simulation run a TD far larger than the checker's: the widened encodings (same values
// below the old caps), the incremental freed-while-mapped check, and the mirror's pool-mode tables.
// Each is compared with what the checker uses.
import { describe, expect, it } from "vitest";
import type { Program } from "../../src/engine/index.js";
import { rng32, timedRun, type TimedCosts } from "../../src/engine/schedulers/timed.js";
import { buildProgram, SCENARIOS, type Scenario } from "../../src/kvm/index.js";
import { PT, pamtPack, pamtUnpack, pamtBepoch, withBepoch } from "../../src/tdx/pamt.js";
import { C, exitGpa, st, statusCode, statusName } from "../../src/tdx/status.js";
import { defaults } from "../../src/sim/costs.js";
import { simulateScenario } from "../../src/sim/run.js";

describe("widened encodings", () => {
  it("a status token with an operand below 256 keeps its value; a larger GPA round-trips", () => {
    for (const op of [0, 1, 0x92, 255]) expect(st(C.OPERAND_BUSY, op)).toBe(C.OPERAND_BUSY * 256 + op);
    for (const gpa of [256, 4097, 262_143]) {
      const s = st(C.TD_EXIT_EPT_VIOLATION, gpa);
      expect(statusCode(s)).toBe(C.TD_EXIT_EPT_VIOLATION);
      expect(exitGpa(s)).toBe(gpa);
      expect(statusName(s)).toBe(`TD_EXIT(EPT_VIOLATION) gpa=${gpa}`);
    }
  });

  it("a PAMT cell is the narrow value for owners below 256; a wide owner round-trips with its bepoch", () => {
    expect(pamtPack({ pt: PT.REG, size: 1, owner: 200, bepoch: 7 })).toBe(PT.REG | (1 << 3) | (200 << 5) | (7 << 15));
    const v = pamtPack({ pt: PT.EPT, owner: 262_143, ownerLevel: 1 });
    expect(v).toBeLessThan(0);
    expect(pamtUnpack(v)).toEqual({ pt: PT.EPT, size: 0, owner: 262_143, ownerLevel: 1, bepoch: 0 });
    const b = withBepoch(v, 9);
    expect(pamtBepoch(b)).toBe(9);
    expect(pamtUnpack(b).owner).toBe(262_143);
    expect(() => withBepoch(v, 64)).toThrow(/model limit/);
  });
});

/** The same program with the always-invariants' incremental forms removed (or replaced). */
function withInvariants(p: Program, map: (inv: Program["invariants"][number]) => Program["invariants"][number]): Program {
  return { ...p, objGroups: p.objGroups, keyGroups: p.keyGroups, invariants: p.invariants.map(map) };
}

describe("freed-while-mapped, incremental vs the full scan", () => {
  // fault-vs-punch-hole with stale-check=off frees the page while the S-EPT maps it
  // (src/kvm/ablations.ts); the timed scheduler finds it under most random step costs.
  const sc = SCENARIOS["fault-vs-punch-hole"]!;
  const run = (p: Program, seed: number) => {
    const cost = rng32(seed * 7 + 1);
    const costs: TimedCosts = { stepCost: () => Math.floor(cost() * 1000), spins: () => true, choose: (_t, k, _op, u) => Math.floor(u * k) };
    return timedRun(p, { costs, seed, handoff: 0, recordSchedule: false }).violations.map((v) => `${v.property}@${v.step}: ${v.message}`);
  };
  const build = () => buildProgram(sc, "upstream-6.19", { "stale-check": "off" });

  it("finds the same violations at the same steps on 12 seeds; an incremental check blind to writes finds fewer", () => {
    let found = 0;
    let missedByBlind = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const inc = run(build(), seed);
      const full = run(withInvariants(build(), (i) => ({ name: i.name, check: i.check, ...(i.objs ? { objs: i.objs } : {}) })), seed);
      expect(inc, `seed ${seed}`).toEqual(full);
      if (full.some((v) => v.startsWith("no-free-while-mapped"))) found++;
      const blind = run(withInvariants(build(), (i) => (i.incremental ? { ...i, incremental: () => ({ wrote: () => {}, check: () => null }) } : i)), seed);
      if (full.some((v) => v.startsWith("no-free-while-mapped")) && !blind.some((v) => v.startsWith("no-free-while-mapped"))) missedByBlind++;
    }
    expect(found).toBeGreaterThan(6);
    expect(missedByBlind).toBe(found);
  });
});

describe("pool-mode mirror tables", () => {
  // A lazy-accept boot with 4 vCPUs racing for the same tables (levels 3 x fan-out 3: 27 pages,
  // 12 tables): pool-mode tables change which memory a table is, not what the threads do, so the
  // timed run is the same step for step.
  const sc: Scenario = {
    name: "pool-boot",
    description: "lazy-accept boot, 4 vCPUs",
    geometry: { levels: 3, fanout: 3 },
    initial: {},
    threads: Array.from({ length: 4 }, (_, v) => ({ kind: "vcpu" as const, vcpu: v, actions: Array.from({ length: 27 }, (_, g) => g).filter((g) => g % 4 === v).map((gfn) => ({ op: "accept" as const, gfn })) })),
    expected: {},
  };
  it("gives the same run as one table per position and thread, with fewer cells", () => {
    const w = { kind: "boot" as const, vcpus: 4, pages: 27 };
    for (const seed of [1]) {
      const slots = simulateScenario(sc, w, 4, { preset: "upstream-7.2", costs: defaults(), seed });
      const pool = simulateScenario(sc, w, 4, { preset: "upstream-7.2", costs: defaults(), seed, literal: true });
      expect(pool.end).toBe("done");
      expect(pool.findings).toEqual([]);
      expect(pool.retries).toBeGreaterThan(0); // the vCPUs did race for tables
      const strip = (r: typeof pool) => ({ end: r.end, steps: r.steps, time: r.timeNs, busy: r.busy, retries: r.retries, mmu: r.mmuLock, latency: r.latency });
      expect(strip(pool)).toEqual(strip(slots));
      expect(pool.program.world.objs.length).toBeLessThan(slots.program.world.objs.length);
    }
  });
});
