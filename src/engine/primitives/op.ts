import type { Op, OpKind } from "../ops.js";

/** Build an op with every field present, so all ops share one hidden class. */
export function mkOp(k: OpKind, o: number, s: number, a: number, b: number, label: string): Op {
  return { k, o, s, a, b, label, objs: undefined, pred: undefined, vpred: undefined, fn: undefined, env: undefined };
}
