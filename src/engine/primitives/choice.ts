// Nondeterministic choice among k outcomes, explored like a scheduling choice and recorded in the
// schedule. `env: true` says outcomes other than 0 are failures injected by an environment agent
// the model does not contain (e.g. TDX_OPERAND_BUSY from another TD's SEAMCALL); the environment
// is fair, so a cycle kept alive only by such failures is not a livelock.
import { K, type Op } from "../ops.js";
import { mkOp } from "./op.js";

export function choose(k: number, label = "choice", opts: { env?: boolean } = {}): Op {
  if (!Number.isInteger(k) || k < 1) throw new Error(`choose '${label}': need at least one outcome, got ${k}`);
  const op = mkOp(K.Choice, -1, -1, k, 0, label);
  op.env = opts.env === true;
  return op;
}
