// Errors of the command line. Bad usage or bad input is a UsageError: main prints its message as
// one line (`tdxmc: MESSAGE`) and exits 2. Build messages that echo user input with `quote()` from
// safe-input.ts, so that nothing the user typed comes back raw, huge or with control characters.
export { EXIT, worstExit, type ExitCode } from "./exit-codes.js";

/** Bad usage or bad input: one line naming the problem and where; exit code 2. */
export class UsageError extends Error {}
