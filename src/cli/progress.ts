// A progress line on standard error, only on a terminal, only for runs longer than a second.
export interface Progress {
  update(text: string): void;
  done(): void;
}

export function createProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  const t0 = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(text) {
      if (!enabled) return;
      const now = Date.now();
      if (now - t0 < 1000 || now - last < 100) return;
      last = now;
      shown = true;
      const cols = stream.columns || 100;
      stream.write(`\r\x1b[K${text.slice(0, cols - 1)}`);
    },
    done() {
      if (shown) stream.write("\r\x1b[K");
      shown = false;
    },
  };
}

export function rate(executions: number, ms: number): string {
  const r = ms > 0 ? (executions * 1000) / ms : 0;
  return r >= 1000 ? `${(r / 1000).toFixed(1)}k/s` : `${Math.round(r)}/s`;
}

/** Timers and time, injectable so that a test can drive a heartbeat without waiting. */
export interface Clock {
  now(): number;
  setInterval(f: () => void, ms: number): unknown;
  clearInterval(h: unknown): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setInterval: (f, ms) => {
    const h = setInterval(f, ms);
    h.unref();
    return h;
  },
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
};

/** Heartbeat period when standard error is not a terminal. */
export const HEARTBEAT_MS = 30_000;

export interface Heartbeat {
  /** Set what the next line says ("3/40 runs, 1234 executions"). */
  status(text: string): void;
  /** For synchronous loops (no timer fires while they run): print a line if a period has passed. */
  poke(): void;
  stop(): void;
}

/**
 * Not on a terminal (CI, a pipe): a line `tdxmc: COMMAND: STATUS, N s` on standard error every
 * 30 s, so that a long run is seen alive. On a terminal the progress line does that instead, and
 * this does nothing. The line never goes to standard output, so stdout stays the same bytes.
 */
export function startHeartbeat(io: { err: (s: string) => void; tty: boolean; heartbeatMs?: number; clock?: Clock }, command: string, initial: string): Heartbeat {
  if (io.tty) return { status: () => undefined, poke: () => undefined, stop: () => undefined };
  const clock = io.clock ?? SYSTEM_CLOCK;
  const period = io.heartbeatMs ?? HEARTBEAT_MS;
  const t0 = clock.now();
  let last = t0;
  let text = initial;
  const beat = (): void => {
    last = clock.now();
    io.err(`tdxmc: ${command}: ${text}, ${((last - t0) / 1000).toFixed(0)} s\n`);
  };
  const h = clock.setInterval(beat, period);
  return {
    status: (s) => void (text = s),
    poke: () => {
      if (clock.now() - last >= period) beat();
    },
    stop: () => clock.clearInterval(h),
  };
}
