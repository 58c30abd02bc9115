// State census: which shared objects split the stored states of a scenario (a model-authoring aid;
// not part of the checker). Usage:
//   npx tsx tools/state-census/main.ts FILE.yaml [--preset P] [--max-states N] [--top N] [--persistent-sets]
// It runs the stateful search (cache, every property, as `tdxmc check` does) with one always-invariant
// wrapped so that each state the search stores (invariants are checked only in new states) hands
// its shared memory to the census. It prints, per object, how many distinct values it takes and how
// many distinct memory vectors would merge if the object were left out of the state ("collapse"):
// an object that is dead (never read again before being overwritten) or ghost (read by no checked
// invariant) shows up with a large collapse. Stored states minus distinct memory vectors is what
// thread-local states (loop-head locals and values observed since) add.
import { Execution, explore, type Program } from "../../src/engine/index.js";
import { FingerprintSet } from "../../src/engine/fpset.js";
import { buildProgram } from "../../src/kvm/index.js";
import { loadScenarioFile } from "../../src/cli/scenario-file.js";

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a));
if (file === undefined) {
  console.error("usage: tools/state-census/main.ts FILE.yaml [--preset P] [--max-states N] [--top N] [--persistent-sets]");
  process.exit(2);
}
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const sf = loadScenarioFile(file);
const preset = opt("--preset") ?? sf.presets?.[0];
const base: Program = buildProgram(sf.scenario, preset);
const maxStates = Number(opt("--max-states") ?? 2_000_000);
const top = Number(opt("--top") ?? 40);

const mem = base.world;
// Every state the search stores goes through FingerprintSet.insertFound right after the execution
// computed its fingerprint: patched here (this tool only) to copy the state's memory and each
// thread's local state (its local-state hash, pending op and what it observed since its last loop head).
interface Snap {
  mem: Int32Array;
  loc: string[];
}
const snaps: Snap[] = [];
type Node = { op: { label: string; k: number; o: number } | null; kind: number; up: Node | null; upEdge: { v: number; fx: { k: number; p: string; loc?: readonly number[] }[] | null } | null };
const describe = (n: Node): string => {
  const seen: string[] = [];
  let x: Node | null = n;
  let head = "start";
  while (x !== null && x.upEdge !== null) {
    const fx = x.upEdge.fx ?? [];
    const h = [...fx].reverse().find((f) => f.k === 3);
    if (h !== undefined) {
      head = `${h.p}(${(h.loc ?? []).join(",")})`;
      break;
    }
    seen.push(String(x.upEdge.v));
    x = x.up;
  }
  const at = n.op !== null ? `${n.op.label}#${mem.name(n.op.o)}` : n.kind === 3 ? "done" : `kind${n.kind}`;
  return `${head} [${seen.reverse().join(" ")}] @ ${at}`;
};
let lastEx: { mem: Int32Array; l1: Int32Array; n: number; cur: Node[] } | null = null;
const exProto = Execution.prototype as unknown as { fingerprint: () => void };
const fp = exProto.fingerprint;
exProto.fingerprint = function (this: never) {
  // The execution whose state the search is about to store (a debugging tool's patch, not the engine's).
  // eslint-disable-next-line @typescript-eslint/no-this-alias
  lastEx = this;
  fp.call(this);
};
const setProto = FingerprintSet.prototype as unknown as { insertFound: (...a: number[]) => void };
const ins = setProto.insertFound;
setProto.insertFound = function (this: never, ...a: number[]) {
  const ex = lastEx;
  if (ex !== null && snaps.length < maxStates) snaps.push({ mem: ex.mem.slice(), loc: Array.from({ length: ex.n }, (_, t) => describe(ex.cur[t]!)) });
  ins.apply(this, a);
};
const hooked = base;
const t0 = process.cpuUsage();
const r = explore(hooked, { strategy: "cache", maxStates, maxExecutions: 1e9, maxSteps: 100_000, maxGraphEdges: 2e8, ...(args.includes("--persistent-sets") ? { persistent: true } : {}) });
const cpu = process.cpuUsage(t0);
console.log(`${base.name}: ${r.stats.statesStored} states stored, ${snaps.length} captured, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, exhaustive=${r.exhaustive}`);
// Distinct memory vectors.
const key = (a: Int32Array, skipFrom = -1, skipTo = -1): string => {
  let s = "";
  for (let i = 0; i < a.length; i++) if (i < skipFrom || i >= skipTo) s += a[i] + ",";
  return s;
};
const all = new Set(snaps.map((a) => key(a.mem)));
console.log(`distinct memory vectors: ${all.size} (states - vectors = ${r.stats.statesStored - all.size}: told apart only by thread-local state)`);
const uniq = [...all].map((k) => Int32Array.from(k.split(",").slice(0, -1).map(Number)));
const rows: { name: string; values: number; collapse: number; sample: string }[] = [];
for (const o of mem.objs) {
  const vals = new Set<string>();
  const proj = new Set<string>();
  for (const a of uniq) {
    vals.add(key(a.subarray(o.base, o.base + o.size)));
    proj.add(key(a, o.base, o.base + o.size));
  }
  if (vals.size > 1) rows.push({ name: o.name, values: vals.size, collapse: uniq.length - proj.size, sample: [...vals].slice(0, 6).join(" | ") });
}
rows.sort((a, b) => b.collapse - a.collapse || b.values - a.values);
console.log("collapse  values  object  (sample values)");
for (const row of rows.slice(0, top)) console.log(`${String(row.collapse).padStart(8)}  ${String(row.values).padStart(6)}  ${row.name}  (${row.sample})`);
console.log(`${rows.length} objects take more than one value; ${mem.objs.length} objects in all`);

// Thread-local states: per thread, how many distinct local states, and how many full states merge
// when the thread's local state is left out.
const full = (sn: Snap, skip: number): string => key(sn.mem) + "|" + sn.loc.filter((_, t) => t !== skip).join("|");
const fullAll = new Set(snaps.map((sn) => full(sn, -1)));
console.log(`distinct (memory, local descriptions): ${fullAll.size}`);
for (let t = 0; t < base.threads.length; t++) {
  const locs = new Map<string, number>();
  for (const sn of snaps) locs.set(sn.loc[t]!, (locs.get(sn.loc[t]!) ?? 0) + 1);
  const proj = new Set(snaps.map((sn) => full(sn, t)));
  console.log(`thread ${t} ${base.threads[t]!.name}: ${locs.size} local states, collapse ${fullAll.size - proj.size}`);
  // The local states with the longest observed histories, and the most frequent.
  const byLen = [...locs.keys()].sort((a, b) => b.length - a.length).slice(0, Number(opt("--show") ?? 1));
  for (const l of byLen) console.log(`    longest: ${l}`);
  // Per (loop head, pending op): how many distinct observed histories (what a loop head there would merge).
  const at = new Map<string, number>();
  for (const l of locs.keys()) {
    const k = l.replace(/ \[[^\]]*\] /, " ... ");
    at.set(k, (at.get(k) ?? 0) + 1);
  }
  for (const [k, v] of [...at].sort((a, b) => b[1] - a[1]).slice(0, Number(opt("--sites") ?? 8))) console.log(`    ${String(v).padStart(5)} histories: ${k}`);
}
