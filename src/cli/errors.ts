/** Bad usage or bad input: one line naming the problem and where; exit code 2. */
export class UsageError extends Error {}

export const EXIT = { ok: 0, violation: 1, usage: 2, limit: 3 } as const;
