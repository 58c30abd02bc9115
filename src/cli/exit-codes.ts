// THE exit-code table of tdxmc. Every command (check, replay, ablate, validate, list, explain, and
// the newer view / simulate / --junit) MUST return one of these codes and combine several with
// `worstExit`. `--help` and the README print `exitCodeTable()`; test/cli/exit-codes.test.ts checks
// that the README carries the same text. Add a code here (and nowhere else) if one is ever needed.

export const EXIT = {
  /** Every cell with an expected verdict has it; every cell without one is verified. */
  ok: 0,
  /** A cell differs from its expected verdict, or a cell without one is violated or vacuous. */
  violation: 1,
  /** Bad usage or bad input (one line naming the problem and where). */
  usage: 2,
  /** A counted budget, or a time limit given on the command line, stopped a run without a verdict. */
  limit: 3,
  /** Ctrl-C, after the partial results were printed. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table, one line per code, as printed by `tdxmc --help` and in the README. */
export const EXIT_TABLE: readonly { code: ExitCode; meaning: string }[] = [
  { code: EXIT.ok, meaning: "every cell with an expected verdict has it, and every cell without one is verified" },
  { code: EXIT.violation, meaning: "a cell differs from its expected verdict, or a cell without one is violated or vacuous" },
  { code: EXIT.usage, meaning: "bad usage or bad input (also: a replayed schedule that ends before its violation; an output file that cannot be written after a run, whose results are still printed)" },
  { code: EXIT.limit, meaning: "a counted budget or a --time-limit stopped a run without a verdict" },
  { code: EXIT.interrupted, meaning: "interrupted (Ctrl-C), after printing the partial results" },
];

/** When several codes apply: 130 over 2 over 1 over 3 over 0. */
export const EXIT_PRECEDENCE = "130 over 2 over 1 over 3 over 0";

const RANK: Record<number, number> = { 0: 0, 3: 1, 1: 2, 2: 3, 130: 4 };

export function worstExit(a: number, b: number): number {
  return (RANK[b] ?? 3) > (RANK[a] ?? 3) ? b : a;
}

/** The table as text (indented lines), shared by --help and the README. */
export function exitCodeTable(indent = "  "): string {
  return [
    ...EXIT_TABLE.map((e) => `${indent}${String(e.code).padEnd(4)} ${e.meaning}`),
    `${indent}When several apply: ${EXIT_PRECEDENCE}. view, simulate and --junit follow the same table.`,
  ].join("\n");
}
