// Schedules are values: the thread of every step plus the outcome of every choice, printable as a
// compact string and parsed back for replay.
//
//   v1:*0,1.0.1:1.1.0     root choices (made before any step) 0 then 1; then threads 0, 1 (whose
//                         step made one choice: outcome 1), 1, 0.
//   v2:0/3.1:1,0/2.0      v2 adds "/N": the item is N model steps of that thread run in a row (a
//                         fused step; the choices are those of the N steps, in order). Without
//                         "/N" an item is one model step, so every v1 string is also read as v2.
// A schedule names model steps, never scheduling points: replay runs it without fusion, so a
// schedule means the same whatever fusion the exploration that recorded it used.

export interface Schedule {
  rootChoices: number[];
  /** n: model steps in the item (a fused step), 1 when absent. */
  steps: { tid: number; choices: number[]; n?: number }[];
}

export class ScheduleSyntaxError extends Error {}

export function formatSchedule(s: Schedule): string {
  const parts: string[] = [];
  if (s.rootChoices.length > 0) parts.push(`*${s.rootChoices.join(",")}`);
  for (const st of s.steps) {
    const item = st.choices.length > 0 ? `${st.tid}:${st.choices.join(",")}` : String(st.tid);
    parts.push(st.n !== undefined && st.n !== 1 ? `${item}/${st.n}` : item);
  }
  return `v2:${parts.join(".")}`;
}

const NUM = /^(0|[1-9][0-9]{0,5})$/;

function num(tok: string, where: string): number {
  if (!NUM.test(tok)) throw new ScheduleSyntaxError(`${where}: '${tok}' is not a small non-negative integer`);
  return Number(tok);
}

export function parseSchedule(text: string): Schedule {
  const str = text.trim();
  const v2 = str.startsWith("v2:");
  if (!v2 && !str.startsWith("v1:")) throw new ScheduleSyntaxError(`schedule must start with 'v2:' or 'v1:' (got '${str.slice(0, 12)}')`);
  const body = str.slice(3);
  const out: Schedule = { rootChoices: [], steps: [] };
  if (body === "") return out;
  const toks = body.split(".");
  toks.forEach((tok, i) => {
    const where = `schedule item ${i + 1}`;
    if (tok.startsWith("*")) {
      if (i !== 0) throw new ScheduleSyntaxError(`${where}: root choices ('*') may only come first`);
      out.rootChoices = tok.slice(1).split(",").map((c) => num(c, where));
      return;
    }
    let item = tok;
    let n = 1;
    const slash = tok.indexOf("/");
    if (slash >= 0) {
      if (!v2) throw new ScheduleSyntaxError(`${where}: '${tok}': '/N' (a fused step) exists only in v2 schedules`);
      n = num(tok.slice(slash + 1), where);
      if (n < 1) throw new ScheduleSyntaxError(`${where}: '${tok}': a step runs at least one model step`);
      item = tok.slice(0, slash);
    }
    const [t, cs, extra] = item.split(":");
    if (extra !== undefined) throw new ScheduleSyntaxError(`${where}: '${tok}' has more than one ':'`);
    const st: Schedule["steps"][number] = { tid: num(t ?? "", where), choices: cs === undefined ? [] : cs.split(",").map((c) => num(c, where)) };
    if (n !== 1) st.n = n;
    out.steps.push(st);
  });
  return out;
}
