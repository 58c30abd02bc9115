// Interned step labels. A model labels its steps with template literals such as
// `${leaf}: TDR lock`; written plainly, every step builds a fresh string, and whoever reads the
// label (the simulator's cost lookup hashes it) first copies it flat. Written `lbl\`...\``, the
// same text is built once per call site and substitution value and handed out again afterwards:
// equal text (the tag concatenates exactly as the untagged literal does), one string object.
//
// Only string, number and boolean substitutions are cached (the text of anything else may change
// between calls), at most CAP values per call site (a label carrying a GFN of a large TD would
// otherwise keep one string per page): past that the label is built fresh, as before.

const CAP = 1024;
/** Two substitutions: at most this many first values per call site (each with up to CAP second values). */
const CAP_OUTER = 64;
type Cache = Map<unknown, string>;
const sites = new Map<TemplateStringsArray, Cache>();
const sites2 = new Map<TemplateStringsArray, Map<unknown, Cache>>();

function cacheable(v: unknown): boolean {
  const t = typeof v;
  return t === "string" || t === "number" || t === "boolean";
}

/** Tag for a label template: the same text as the untagged template, interned per call site. */
export function lbl(s: TemplateStringsArray, ...v: unknown[]): string;
export function lbl(s: TemplateStringsArray, a?: unknown, b?: unknown): string {
  const n = s.length;
  if (n === 2) {
    if (!cacheable(a)) return `${s[0]!}${a}${s[1]!}`;
    let c = sites.get(s);
    if (c === undefined) sites.set(s, (c = new Map()));
    let r = c.get(a);
    if (r === undefined) {
      r = `${s[0]!}${a}${s[1]!}`;
      if (c.size < CAP) c.set(a, r);
    }
    return r;
  }
  if (n === 3) {
    if (!cacheable(a) || !cacheable(b)) return `${s[0]!}${a}${s[1]!}${b}${s[2]!}`;
    let c2 = sites2.get(s);
    if (c2 === undefined) sites2.set(s, (c2 = new Map()));
    let c = c2.get(a);
    if (c === undefined) {
      if (c2.size >= CAP_OUTER) return `${s[0]!}${a}${s[1]!}${b}${s[2]!}`;
      c2.set(a, (c = new Map()));
    }
    let r = c.get(b);
    if (r === undefined) {
      r = `${s[0]!}${a}${s[1]!}${b}${s[2]!}`;
      if (c.size < CAP) c.set(b, r);
    }
    return r;
  }
  // No substitution, or more than two: built as the untagged literal builds it.
  // eslint-disable-next-line prefer-rest-params
  const args = arguments;
  let out = s[0]!;
  for (let i = 1; i < n; i++) out += `${args[i]}${s[i]!}`;
  return out;
}
