// wait-until(condition over shared state): the thread is not schedulable until `pred` holds.
// `objs` is the predicate's footprint: the objects whose writes can change its value.
import { K, type Op } from "../ops.js";
import { mkOp } from "./op.js";

export function waitUntil(objs: readonly { id: number }[], pred: () => boolean, label = "wait"): Op {
  if (objs.length === 0) throw new Error(`waitUntil '${label}': a wait must name the objects it reads`);
  const op = mkOp(K.Wait, objs[0]!.id, -1, 0, 0, label);
  op.objs = objs.map((o) => o.id);
  op.pred = pred;
  return op;
}
