// Presentation of a counterexample: a SEAMCALL that the minimized schedule preempts half-way (its
// first module steps, then the other thread, then the rest) reads better — and like the kernel
// emails — when it runs in one piece after the other thread's steps. The reordered schedule is
// only kept if replaying it gives the same violation with no more preemptions, so what is shown
// (and written to files) is still a real execution of the model.
import { formatSchedule, parseSchedule, replay, type Counterexample, type Program } from "../engine/index.js";
import { kvmSteps } from "../kvm/index.js";

function once(program: Program, cex: Counterexample): Counterexample | null {
  const rows = kvmSteps(cex.steps);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!r.label.startsWith("SEAMCALL ")) continue;
    const j = rows.findIndex((x, jj) => jj > i && x.thread === r.thread);
    if (j < 0 || rows[j]!.label !== r.label || j === i + 1) continue;
    const a = Math.min(...r.raw);
    const b = Math.max(...r.raw);
    const c = Math.min(...rows[j]!.raw);
    // One schedule item per model step (the counterexample's schedule may have fused steps).
    const sched = { rootChoices: parseSchedule(cex.schedule).rootChoices, steps: cex.steps.map((s) => ({ tid: s.thread, choices: s.choices ?? [] })) };
    const order = [...Array(a).keys(), ...Array.from({ length: c - b - 1 }, (_, k) => b + 1 + k), ...Array.from({ length: b - a + 1 }, (_, k) => a + k)];
    for (let k = c; k < sched.steps.length; k++) order.push(k);
    const candidate = formatSchedule({ rootChoices: sched.rootChoices, steps: order.map((k) => sched.steps[k]!) });
    try {
      const res = replay(program, parseSchedule(candidate), [cex.property]);
      const v = res.violations.find((x) => x.property === cex.property && x.message === cex.message);
      if (v && v.preemptions <= cex.preemptions && v.steps.length === cex.steps.length) return v;
    } catch {
      /* the reordered schedule is not an execution: keep the original */
    }
  }
  return null;
}

export function tidyCounterexample(program: Program, cex: Counterexample): Counterexample {
  let cur = cex;
  for (let n = 0; n < 8; n++) {
    const next = once(program, cur);
    if (!next) break;
    cur = next;
  }
  return cur;
}
