// Replay of a recorded schedule. A model that behaves differently from when the schedule was
// recorded (a thread not enabled where the schedule runs it, a choice with another number of
// outcomes, a step making more or fewer choices) is reported as a divergence, never followed.
import { Execution, type Oracle } from "../execution.js";
import type { Op } from "../ops.js";
import type { Program } from "../program.js";
import { makeCounterexample, stepRecords, type Counterexample, type StepRecord } from "../result.js";
import type { Schedule } from "../schedule.js";
import { judgeCycle } from "../cycle.js";
import { walk, type WalkEnd } from "./walk.js";

export class ReplayDivergence extends Error {}

export interface ReplayResult {
  /** How the replayed execution ended ("picker-stop": the schedule ended before the execution did). */
  end: WalkEnd;
  violations: Counterexample[];
  steps: StepRecord[];
  execution: Execution;
}

class ScheduleOracle implements Oracle {
  list: number[] = [];
  pos = 0;
  where = "root";
  choose(_tid: number, k: number, op: Op): number {
    if (this.pos >= this.list.length)
      throw new ReplayDivergence(`${this.where}: the model makes a choice ('${op.label}') the schedule does not record`);
    const c = this.list[this.pos++]!;
    if (c >= k) throw new ReplayDivergence(`${this.where}: choice '${op.label}' has ${k} outcomes, the schedule says ${c}`);
    return c;
  }
}

export function replay(program: Program, schedule: Schedule, properties?: readonly string[]): ReplayResult {
  const oracle = new ScheduleOracle();
  const ex = new Execution(program, oracle, properties ? new Set(properties) : null);
  // Follow the whole schedule: a counterexample recorded while collecting every violation may
  // pass an earlier fatal one.
  ex.stopOnFatal = false;
  oracle.list = schedule.rootChoices;
  ex.reset();
  if (oracle.pos !== oracle.list.length)
    throw new ReplayDivergence(`root: the schedule records ${oracle.list.length} choices, the model made ${oracle.pos}`);
  const enabledAt: number[] = [];
  const fps = { fp1: [] as number[], fp2: [] as number[] };
  // A schedule names model steps: an item "t/N" (a fused step of the exploration) is N model steps
  // of thread t in a row, whose choices are consumed in order. Replay never fuses.
  const flat: number[] = [];
  for (let k = 0; k < schedule.steps.length; k++) for (let j = 0; j < (schedule.steps[k]!.n ?? 1); j++) flat.push(k);
  let pendingCheck = -1;
  const checkConsumed = (): void => {
    if (pendingCheck >= 0 && oracle.pos !== oracle.list.length && !ex.fatal)
      throw new ReplayDivergence(`step ${pendingCheck + 1}: the schedule records ${oracle.list.length} choices, the model made ${oracle.pos}`);
  };
  const end = walk(ex, (enabled, i) => {
    const k = flat[i];
    if (k !== pendingCheck) checkConsumed();
    if (k === undefined) return -1;
    const st = schedule.steps[k]!;
    const where = (st.n ?? 1) > 1 ? `step ${k + 1} (model step ${i + 1})` : `step ${k + 1}`;
    if (st.tid >= ex.n) throw new ReplayDivergence(`${where}: thread ${st.tid} does not exist (the program has ${ex.n})`);
    if ((enabled & (1 << st.tid)) === 0)
      throw new ReplayDivergence(`${where}: thread ${st.tid} (${program.threads[st.tid]!.name}) is not enabled here`);
    if (k !== pendingCheck) {
      oracle.list = st.choices;
      oracle.pos = 0;
      oracle.where = `step ${k + 1}`;
      pendingCheck = k;
    }
    return st.tid;
  }, enabledAt, 1_000_000, false, fps);
  checkConsumed();
  if (end === "picker-stop") judgeFinalCycle(ex, fps, enabledAt);
  if (end !== "picker-stop" && ex.length < flat.length)
    throw new ReplayDivergence(`the execution ended (${end}) after ${ex.length} steps; the schedule has ${flat.length}`);
  return {
    end,
    violations: ex.violations.map((v) => makeCounterexample(ex, v, enabledAt)),
    steps: stepRecords(ex),
    execution: ex,
  };
}

/**
 * A schedule that ends in the state it passed through at step j recorded a cycle (a livelock
 * counterexample is a prefix plus one turn of the cycle): judge the longest such cycle.
 */
function judgeFinalCycle(ex: Execution, fps: { fp1: number[]; fp2: number[] }, enabledAt: number[]): void {
  ex.fingerprint();
  for (let j = 0; j < fps.fp1.length; j++) {
    if (fps.fp1[j] === ex.fp1 && fps.fp2[j] === ex.fp2) {
      judgeCycle(ex, j, ex.length - 1, enabledAt);
      return;
    }
  }
}
