// What lets a simulation run a TD far larger than the checker's: the widened encodings (same values
// below the old caps), the incremental freed-while-mapped check, and the mirror's pool-mode tables.
// Each is compared with what the checker uses.
import { describe, expect, it } from "vitest";
import { waitUntil, type Op, type Program } from "../../src/engine/index.js";
import { rng32, timedRun, type TimedCosts } from "../../src/engine/schedulers/timed.js";
import { buildProgram, buildProgramWithModel, SCENARIOS, type Scenario } from "../../src/kvm/index.js";
import { PT, pamtPack, pamtUnpack, pamtBepoch, pamtBepochBits, withBepoch } from "../../src/tdx/pamt.js";
import { C, exitGpa, st, statusCode, statusName } from "../../src/tdx/status.js";
import { isTlbTracked, packEpoch } from "../../src/tdx/tlb.js";
import { mkNode, nodePair, POOL_MAX_PAGES } from "../../src/tdx/dpamt.js";
import { assocOf, MAX_VCPUS, packVcpu } from "../../src/tdx/td.js";
import { isDirtyLeaf, isLeaf, leafSpte, SPTE_D_CLEAR, SPTE_MAX_PFN, spteToPfn } from "../../src/kvm/spte.js";
import { defaults } from "../../src/sim/costs.js";
import { simulatePoint, simulateScenario } from "../../src/sim/run.js";
import { buildWorkload } from "../../src/sim/workloads.js";

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
  });

  it("a wide PAMT cell keeps bepoch modulo 64 and TLB tracking compares by distance (was: bepoch 64 threw)", () => {
    const v = pamtPack({ pt: PT.REG, owner: 300 });
    for (const e of [63, 64, 65, 1000, 65_535]) {
      const b = withBepoch(v, e);
      expect(pamtUnpack(b).owner).toBe(300);
      const bits = pamtBepochBits(b);
      expect(bits).toBe(6);
      // td_epoch e + d (modulo 2^16, as the cell wraps): tracked iff d >= 2, or d = 1 and refcount[e & 1] = 0.
      for (const d of [0, 1, 2, 3, 40]) {
        const epoch = packEpoch((e + d) & 0xffff);
        expect(isTlbTracked(epoch, pamtBepoch(b), bits), `bepoch ${e}, +${d}`).toBe(d >= 1);
        expect(isTlbTracked(epoch | (1 << (e & 1 ? 8 : 0)), pamtBepoch(b), bits), `bepoch ${e}, +${d}, refcount`).toBe(d >= 2);
      }
    }
    // A narrow cell (the checker's) compares as before for epochs below 2^15, bepoch ahead included.
    for (let e = 0; e < 40; e++) for (let be = 0; be < 40; be++) {
      const old = be === e - 1 ? true : be < e - 1;
      expect(isTlbTracked(packEpoch(e), be)).toBe(old);
    }
    // ... and across the 2^16 wrap of td_epoch.
    expect(isTlbTracked(packEpoch(1), 65_535)).toBe(true);
    expect(isTlbTracked(packEpoch(0), 65_535)).toBe(true);
  });

  it("the Dirty-clear flag never meets a PFN bit; below 2^18 a leaf token is 2 + 2·pfn as before", () => {
    for (const pfn of [0, 1, 199, (1 << 18) - 1]) {
      expect(leafSpte(pfn)).toBe(2 + 2 * pfn);
      expect(leafSpte(pfn, false)).toBe(2 + 2 * pfn + SPTE_D_CLEAR);
    }
    // 2^19 - 1 and 2^19 collided with the flag in the old token (2 + 2·pfn has bit 20 set).
    for (const pfn of [1 << 18, (1 << 19) - 1, 1 << 19, 524_289, (1 << 21) - 2, SPTE_MAX_PFN]) {
      for (const dirty of [true, false]) {
        const v = leafSpte(pfn, dirty);
        expect(isLeaf(v) && v > 0, `pfn ${pfn}`).toBe(true);
        expect(spteToPfn(v), `pfn ${pfn}`).toBe(pfn);
        expect(isDirtyLeaf(v), `pfn ${pfn} dirty=${dirty}`).toBe(dirty);
      }
    }
    expect(() => leafSpte(SPTE_MAX_PFN + 1)).toThrow(/model limit/);
  });

  it("a PAMT node's pair fields hold pool indices past 62; below, the value is the 6-bit one", () => {
    for (const [a, b] of [[0, 1], [28, 29], [61, 60]] as const) expect(mkNode(a, b)).toBe(1 | ((a + 1) << 2) | ((b + 1) << 8));
    for (const [a, b] of [[62, 63], [100, 7], [POOL_MAX_PAGES - 1, POOL_MAX_PAGES - 2]] as const) expect(nodePair(mkNode(a, b))).toEqual([a, b]);
  });

  it("the vCPU association field holds vCPU ids up to 125 (was 62); below 15 the cell is unchanged", () => {
    expect(packVcpu(1, true, 3, 5)).toBe(1 | 4 | (4 << 3) | (5 << 7));
    for (const lp of [-1, 0, 14, 15, 62, 63, 100, MAX_VCPUS - 1]) expect(assocOf(packVcpu(1, false, lp, 0xfffff))).toBe(lp);
  });
});

describe("Dynamic PAMT with many vCPUs (the 30-page pool in one mask ended 4+ vCPUs as model-limit)", () => {
  const boot = (vcpus: number) => simulatePoint({ kind: "boot", vcpus, pages: 25 }, { preset: "dpamt", costs: defaults(), seed: 1 });
  it("boots 8, 16 and 64 vCPUs to the end with no finding; up to 3 vCPUs the pool (and every figure) is as it was", () => {
    for (const v of [8, 16, 64]) {
      const r = boot(v);
      expect(r.end, `${v} vCPUs`).toBe("done");
      expect(r.findings).toEqual([]);
      expect(r.faults).toBe(25);
    }
    const three = boot(3);
    expect(three.end).toBe("done");
    // The default-run figures of docs/simulate.md (boot-presets, dpamt, 3 vCPUs: 120 us, 8 retries).
    expect(Math.round(three.timeNs / 100) / 10).toBe(120.1);
    expect(three.retries).toBe(8);
  });

  it("incremental D-2 (refcount covers the module) = the full scan, on the pool's pair form; a blind one misses", () => {
    // pamt-put=before-remove (a deliberate accounting bug, src/kvm/ablations.ts) breaks D-2 in a
    // conversion storm; with 6 vCPUs the pool is in its pair form.
    const built = buildWorkload({ kind: "conversion", vcpus: 6, pages: 25, writers: 2 });
    const build = () => buildProgram(built.scenario, "dpamt", { "pamt-put": "before-remove" }, { simulation: true });
    const d2 = (xs: string[]) => xs.filter((x) => x.startsWith("pamt-refcount-covers-module"));
    let found = 0;
    let missedByBlind = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const inc = d2(randomCostRun(build(), seed));
      const full = d2(randomCostRun(withInvariants(build(), (i) => ({ name: i.name, check: i.check, ...(i.objs ? { objs: i.objs } : {}) })), seed));
      expect(inc, `seed ${seed}`).toEqual(full);
      if (full.length) found++;
      const blind = d2(randomCostRun(withInvariants(build(), (i) => (i.name === "pamt-refcount-covers-module" ? { ...i, incremental: () => ({ wrote: () => {}, check: () => null }) } : i)), seed));
      if (full.length && !blind.length) missedByBlind++;
    }
    expect(found).toBeGreaterThan(1);
    expect(missedByBlind).toBe(found);
  });
});

describe("incremental D-5 (a pool page never both installed and free) = the full check", () => {
  // No switch breaks D-5, so a test thread does: once the module has installed a pool page, it
  // hands an installed pair back to the kernel's sets, in each form an incremental check must see:
  // a vCPU cache's pair slot, a push on the allocator's stack (pair cell, then height), and the
  // small pool's bit mask (3 vCPUs: the 30-page pool in one cell).
  type Via = "cache" | "stack" | "mask";
  const build = (via: Via, blind: boolean): Program => {
    const built = buildWorkload({ kind: "boot", vcpus: via === "mask" ? 3 : 6, pages: 25 });
    const { program, model } = buildProgramWithModel(built.scenario, "dpamt", {}, { simulation: true });
    const p = model.kvm.pamt!;
    const d = model.tdx.mod.td.dpamt!;
    const installed = (): number[] => {
      const out: number[] = [];
      for (let i = 0; i < p.poolPages && out.length < 2; i++) if (d.bitmapHas(d.poolIndex(p.pfnOf(i)))) out.push(i);
      return out;
    };
    const pair = (): number => {
      const [a, b] = installed();
      return (a! + 1) | ((b! + 1) << 14);
    };
    const words = d.bitmap;
    const inject = function* (): Generator<Op, void, number> {
      yield waitUntil(words, () => installed().length === 2, "test: wait until a pair is installed");
      for (let k = 0; k < 40; k++) yield words[0]!.load("test: delay");
      if (via === "cache") yield p.cache[0]!.pairs[0]!.rmw(() => pair(), "test: an installed pair into vcpu0's cache");
      else if (via === "mask") yield p.free.mask!.rmw((m) => m | (1 << installed()[0]!), "test: an installed page into the free mask");
      else {
        const top = p.free.top!;
        yield p.free.pairs[p.free.pairs.length - 1]!.rmw(() => pair(), "test: an installed pair above the stack");
        yield top.rmw((h) => h, "test: read the height");
        for (let k = 0; k < 3; k++) yield top.load("test: delay");
        // Swap the new pair to the top slot and raise the height (two steps: the pair is a member
        // only once the height covers it).
        yield p.free.pairs[top.peek()]!.rmw(() => pair(), "test: the pair into the next slot");
        yield top.rmw((h) => h + 1, "test: push (height + 1)");
      }
    };
    const threads = [...program.threads, { name: "inject", body: () => inject() }];
    const invariants = program.invariants.map((i) => (i.name !== "pamt-pair-not-reused" ? i : blind ? { ...i, incremental: () => ({ wrote: () => {}, check: () => null }) } : i));
    return { ...program, threads, invariants, objGroups: program.objGroups, keyGroups: program.keyGroups };
  };
  const full = (p: Program): Program => withInvariants(p, (i) => ({ name: i.name, check: i.check, ...(i.objs ? { objs: i.objs } : {}) }));
  // After the injection the pool is corrupt and the vCPUs may retry forever: runs are cut at 5 000 steps.
  const d5 = (p: Program, seed: number): string[] => {
    const cost = rng32(seed * 7 + 1);
    const costs: TimedCosts = { stepCost: () => Math.floor(cost() * 1000), spins: () => true, choose: (_t, k, _op, u) => Math.floor(u * k) };
    const r = timedRun(p, { costs, seed, handoff: 0, recordSchedule: false, stopOnFatal: false, maxSteps: 5_000 });
    return r.violations.filter((v) => v.property === "pamt-pair-not-reused").map((v) => `${v.step}: ${v.message}`);
  };
  for (const via of ["cache", "stack", "mask"] as const)
    it(`via ${via}: the same report at the same step on 3 seeds; a blind check misses it`, () => {
      for (let seed = 1; seed <= 3; seed++) {
        const want = d5(full(build(via, false)), seed);
        expect(want.length, `seed ${seed}`).toBe(1);
        expect(d5(build(via, false), seed), `seed ${seed}`).toEqual(want);
        expect(d5(build(via, true), seed), `seed ${seed}`).toEqual([]);
      }
    });
});

describe("a model limit thrown by the model ends the run as model-limit", () => {
  it("the zero-step storm on 64 pages fills the EPF list past GPA 30: model-limit, not a crash", () => {
    const costs = defaults();
    // The workload's scenario on a 2 x 8 geometry (64 pages; the literal one builds 1 GiB's layout).
    const base = buildWorkload({ kind: "faults", vcpus: 8, pages: 64 }, { literal: true }).scenario;
    const sc: Scenario = { ...base, geometry: { levels: 2, fanout: 8 }, initial: { tables: Array.from({ length: 8 }, (_, i) => ({ level: 1, gfn: 8 * i })) } };
    const r = simulateScenario(sc, { kind: "faults", vcpus: 8, pages: 64 }, 8, {
      preset: "upstream-6.19",
      overrides: { "local-retry": "off" },
      costs: { ...costs, prob: { ...costs.prob, "inject-busy": 0.3 } },
      seed: 1,
      module: "1.5.16",
      zeroStepThreshold: 1,
      maxSteps: 300_000,
      stallSteps: 20_000,
    });
    expect(r.end).toBe("model-limit");
    expect(r.limit).toMatch(/^model limit: the zero-step EPF list is a 31-bit cell \(GPAs 0\.\.30\); GPA \d+ does not fit$/);
    expect(r.findings).toEqual([]);
  });
});

/** A timed run with random step costs (every violation, in order). */
function randomCostRun(p: Program, seed: number): string[] {
  const cost = rng32(seed * 7 + 1);
  const costs: TimedCosts = { stepCost: () => Math.floor(cost() * 1000), spins: () => true, choose: (_t, k, _op, u) => Math.floor(u * k) };
  return timedRun(p, { costs, seed, handoff: 0, recordSchedule: false, stopOnFatal: false }).violations.map((v) => `${v.property}@${v.step}: ${v.message}`);
}

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

describe("invalidation range of a VM with more than 255 GFNs (was packed in 8-bit fields)", () => {
  // 289 GFNs (2 levels x fan-out 17), every page mapped; userspace converts [200, 289) to shared
  // while three vCPUs touch GFNs 0-59 and 240-288 (the latter fault on shared pages once converted).
  const n = 289;
  const sc: Scenario = {
    name: "wide-invalidate",
    description: "conversion of GFNs above 255",
    geometry: { levels: 2, fanout: 17 },
    initial: { tables: Array.from({ length: 17 }, (_, i) => ({ level: 1, gfn: i * 17 })), leaves: Array.from({ length: n }, (_, g) => ({ gfn: g, state: "MAPPED" as const })) },
    threads: [
      ...Array.from({ length: 3 }, (_, v) => ({ kind: "vcpu" as const, vcpu: v, actions: [...Array.from({ length: 60 }, (_, i) => i), ...Array.from({ length: n - 240 }, (_, i) => 240 + i)].filter((g) => g % 3 === v).map((gfn) => ({ op: "access" as const, gfn })) })),
      { kind: "set-attributes" as const, name: "convert", start: 200, end: n, to: "shared" as const },
    ],
    expected: {},
  };
  it("in progress, the range is [200, 289) exactly; the run ends with every GFN of it shared and unmapped, no finding", () => {
    const { program, model } = buildProgramWithModel(sc, "upstream-7.2", {}, { simulation: true });
    expect(model.kvm.invalidateWide).not.toBeNull();
    const seen = new Set<string>();
    const cost = rng32(5);
    const costs: TimedCosts = { stepCost: () => Math.floor(cost() * 1000), spins: () => true, choose: (_t, k, _op, u) => Math.floor(u * k) };
    const r = timedRun(program, {
      costs,
      seed: 5,
      handoff: 0,
      recordSchedule: false,
      observer: {
        step: () => {
          // Between in_progress++ and the range stores (all under mmu_lock held for write) the
          // range is not yet set; a reader under the lock never sees that.
          const u = model.kvm.peekInvalidate();
          if (u.count > 0 && model.kvm.mmuLock.lock.writer() < 0) seen.add(`${u.count}:[${u.start},${u.end})`);
        },
      },
    });
    expect(r.end).toBe("done");
    expect(r.violations).toEqual([]);
    expect([...seen]).toEqual(["1:[200,289)"]);
    for (let g = 0; g < n; g++) {
      expect(model.kvm.attrs[g]!.peek(), `gfn ${g}`).toBe(g >= 200 ? 0 : 1);
      if (g >= 200) expect(model.tdx.peekEntry(1, g)?.state ?? "FREE", `gfn ${g}`).toBe("FREE");
    }
  });
  it("a VM of at most 255 GFNs keeps the packed cell (the checker's)", () => {
    const { model } = buildProgramWithModel(SCENARIOS["fault-vs-punch-hole"]!, "upstream-6.19");
    expect(model.kvm.invalidateWide).toBeNull();
  });
});

describe("more threads than the checker's 30 (simulation only)", () => {
  it("a conversion storm with 40 vCPU threads and 2 converters runs; the converters have kicker bits", () => {
    const sc: Scenario = {
      name: "many-threads",
      description: "40 vCPUs and 2 converters",
      geometry: { levels: 2, fanout: 9 },
      initial: { tables: Array.from({ length: 9 }, (_, i) => ({ level: 1, gfn: i * 9 })), leaves: Array.from({ length: 81 }, (_, g) => ({ gfn: g, state: "MAPPED" as const })) },
      threads: [
        ...Array.from({ length: 40 }, (_, v) => ({ kind: "vcpu" as const, vcpu: v, actions: [{ op: "access" as const, gfn: v * 2 }] })),
        { kind: "set-attributes" as const, name: "convert0", start: 0, end: 40, to: "shared" as const },
        { kind: "set-attributes" as const, name: "convert1", start: 40, end: 81, to: "shared" as const },
      ],
      expected: {},
    };
    const { program, model } = buildProgramWithModel(sc, "upstream-7.2", {}, { simulation: true });
    expect(program.threads.length).toBe(42);
    expect(model.kvm.kickBit.slice(40)).toEqual([0, 1]);
    expect(model.kvm.kickBit.filter((b) => b >= 0).length).toBe(30);
    const r = simulateScenario(sc, { kind: "conversion", vcpus: 40, pages: 81, writers: 2 }, 40, { preset: "upstream-7.2", costs: defaults(), seed: 1 });
    expect(r.end).toBe("done");
    expect(r.findings).toEqual([]);
    // The checker's strategies refuse it (thread sets are 31-bit masks there).
    expect(() => buildProgram(sc, "upstream-7.2")).toThrow(/at most 30 threads/);
  });
});
