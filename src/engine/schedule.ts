// Schedules are values: the thread of every step plus the outcome of every choice, printable as a
// compact string and parsed back for replay.
//
//   v1:*0,1.0.1:1.1.0     root choices (made before any step) 0 then 1; then threads 0, 1 (whose
//                         step made one choice: outcome 1), 1, 0.

export interface Schedule {
  rootChoices: number[];
  steps: { tid: number; choices: number[] }[];
}

export class ScheduleSyntaxError extends Error {}

export function formatSchedule(s: Schedule): string {
  const parts: string[] = [];
  if (s.rootChoices.length > 0) parts.push(`*${s.rootChoices.join(",")}`);
  for (const st of s.steps) parts.push(st.choices.length > 0 ? `${st.tid}:${st.choices.join(",")}` : String(st.tid));
  return `v1:${parts.join(".")}`;
}

const NUM = /^(0|[1-9][0-9]{0,5})$/;

function num(tok: string, where: string): number {
  if (!NUM.test(tok)) throw new ScheduleSyntaxError(`${where}: '${tok}' is not a small non-negative integer`);
  return Number(tok);
}

export function parseSchedule(text: string): Schedule {
  const str = text.trim();
  if (!str.startsWith("v1:")) throw new ScheduleSyntaxError(`schedule must start with 'v1:' (got '${str.slice(0, 12)}')`);
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
    const [t, cs, extra] = tok.split(":");
    if (extra !== undefined) throw new ScheduleSyntaxError(`${where}: '${tok}' has more than one ':'`);
    out.steps.push({ tid: num(t ?? "", where), choices: cs === undefined ? [] : cs.split(",").map((c) => num(c, where)) });
  });
  return out;
}
