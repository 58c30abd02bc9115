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
