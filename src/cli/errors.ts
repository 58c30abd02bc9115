/** Bad usage or bad input: one line naming the problem and where; exit code 2. */
export class UsageError extends Error {}

export const EXIT = { ok: 0, violation: 1, usage: 2, limit: 3 } as const;

/** When several exit codes apply: 2 over 1 over 3 over 0. */
const RANK: Record<number, number> = { 0: 0, 3: 1, 1: 2, 2: 3 };

export function worstExit(a: number, b: number): number {
  return (RANK[b] ?? 3) > (RANK[a] ?? 3) ? b : a;
}
