// Safe handling of everything a user hands to tdxmc. Every command (check, replay, validate,
// ablate, explain, and the newer view / simulate / --junit / --view / --format) MUST use these
// helpers rather than fs.readFileSync, `obj[userWord]` or raw echoes:
//
//   readInput(path, what)     regular files only (no /dev/zero, FIFOs, directories), size-capped;
//                             "-" reads standard input, also size-capped.
//   own(map, key)             look a user-supplied word up in a map by own property only, so that
//                             "constructor", "__proto__" or "toString" are simply unknown.
//   quote(value)              what to echo in a message: quoted, control characters escaped,
//                             truncated (a 50 MB value does not come back as a 50 MB line).
//   safeText(value)           the same escaping without quotes (names printed in tables).
//   checkOutputDir / checkOutputFile
//                             that an output path can be written, BEFORE a run (nothing is
//                             explored only to be thrown away because --out cannot be written).
//   tryWrite(path, text)      write an output file through a temporary name and a rename (never
//                             half a file, nothing left behind); returns why it failed, or null.
//   suggest(word, known)      "did you mean" on the same line.
import { accessSync, closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { UsageError } from "./errors.js";

/** Largest scenario / counterexample / trace file read (bytes). */
export const MAX_INPUT_BYTES = 4 << 20;
/** Longest value echoed back in a message (characters, before escaping). */
export const MAX_ECHO = 60;

/** Escape control characters (terminal escapes, newlines) and lone surrogates; no truncation. */
export function safeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** A user-supplied value for a message: single-quoted, escaped, truncated to `max` characters. */
export function quote(v: unknown, max = MAX_ECHO): string {
  const s = typeof v === "string" ? v : String(v);
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  return `'${safeText(cut)}'${s.length > max ? ` (${s.length} characters)` : ""}`;
}

/** A path as messages show it: as is when it is plain, else quoted and escaped. */
export function showPath(p: string): string {
  if (p === "-") return "<stdin>";
  const q = quote(p, 200);
  return q === `'${p}'` ? p : q;
}

/** Own-property lookup: undefined for anything not defined on `map` itself. */
export function own<V>(map: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}

export function hasOwn(map: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(map, key);
}

/** Edit distance (small strings only). */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** " (did you mean 'x'?)" or "" — meant for the end of the same line. */
export function suggest(word: string, known: readonly string[]): string {
  if (word.length > 64) return "";
  let best: string | undefined;
  let bd = 3;
  for (const k of known) {
    const dd = distance(word, k);
    if (dd < bd) [best, bd] = [k, dd];
  }
  return best === undefined ? "" : ` (did you mean '${best}'?)`;
}

/**
 * Read a user-named input: a regular file of at most `maxBytes`, or "-" for standard input
 * (also capped). Anything else — a directory, a FIFO, a device, a missing file — is a UsageError
 * naming the path. Never blocks on a FIFO (the type is checked before the file is opened for reading
 * with O_NONBLOCK) and never reads more than the cap.
 */
export function readInput(path: string, what = "file", maxBytes = MAX_INPUT_BYTES): string {
  const name = path === "-" ? "standard input" : showPath(path);
  let fd: number;
  if (path === "-") fd = 0;
  else {
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`${what} ${name}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? "error"})`}`);
    }
    if (st.isDirectory()) throw new UsageError(`${what} ${name}: is a directory, not a file`);
    if (!st.isFile()) throw new UsageError(`${what} ${name}: not a regular file (devices, FIFOs and sockets are not read)`);
    if (st.size > maxBytes) throw new UsageError(`${what} ${name}: too large (${st.size} bytes; at most ${maxBytes})`);
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw new UsageError(`${what} ${name}: cannot read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
    }
    // The path may have been replaced between stat and open.
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new UsageError(`${what} ${name}: not a regular file`);
    }
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN" && path === "-") throw new UsageError(`${what} ${name}: nothing to read (standard input is not ready; pipe a file into it)`);
        if (code === "EOF") break;
        throw new UsageError(`${what} ${name}: cannot read (${code ?? "error"})`);
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new UsageError(`${what} ${name}: too large (more than ${maxBytes} bytes)`);
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    const text = Buffer.concat(chunks).toString("utf8");
    if (text.includes("\u0000")) throw new UsageError(`${what} ${name}: binary data (a NUL byte), not text`);
    return text;
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** Paths under these are never written (a write there does not behave like a file). */
const SPECIAL = ["/proc/", "/sys/", "/dev/"];

/** The path with its nearest existing ancestor's symbolic links resolved (a link into /proc is /proc). */
function realish(p: string): string {
  let a = resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(a), ...rest.reverse());
    } catch {
      const up = dirname(a);
      if (up === a) return resolve(p);
      rest.push(basename(a));
      a = up;
    }
  }
}

function special(p: string): boolean {
  return [resolve(p), realish(p)].some((x) => SPECIAL.some((s) => `${x}/`.startsWith(s)));
}

/**
 * mkdir -p, one level at a time: Node's own recursive mkdirSync never returns on some special
 * file systems (a path under /proc loops forever), where this fails at once with the errno.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let a = resolve(dir); !existsSync(a); a = dirname(a)) {
    missing.push(a);
    if (dirname(a) === a) break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}

/** stat, or undefined when nothing is there; any other failure (a file used as a directory: ENOTDIR, ELOOP, EACCES) names the path. */
function statOrNone(p: string, option: string, name: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`option ${option}: cannot write ${name} (${code === "ENOTDIR" ? "a part of the path is a file, not a directory" : (code ?? "error")})`);
  }
}

/**
 * An output directory (check --out DIR): must be, or be creatable as, a writable directory.
 * Creates it (that is what a run would do first anyway). Call before the run.
 */
export function checkOutputDir(dir: string, option: string): void {
  const name = showPath(dir);
  if (special(dir)) throw new UsageError(`option ${option}: ${name} is under /proc, /sys or /dev; name an ordinary directory`);
  const st = statOrNone(dir, option, name);
  if (st && !st.isDirectory()) throw new UsageError(`option ${option}: ${name} exists and is not a directory`);
  try {
    if (!st) makeDirs(dir);
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new UsageError(`option ${option}: cannot write in ${name} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** An output file (a report, a JUnit file, a trace): its directory must exist and be writable. Call before the run. */
export function checkOutputFile(file: string, option: string): void {
  if (file === "-") throw new UsageError(`option ${option}: '-' (standard output) is not supported here; name a file`);
  const name = showPath(file);
  if (special(file)) throw new UsageError(`option ${option}: ${name} is under /proc, /sys or /dev; name an ordinary file`);
  const st = statOrNone(file, option, name);
  if (st && !st.isFile()) throw new UsageError(`option ${option}: ${name} exists and is not a regular file`);
  try {
    accessSync(st ? file : dirname(resolve(file)), constants.W_OK);
  } catch (e) {
    throw new UsageError(`option ${option}: cannot write ${name} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/**
 * Write `text()` to `path` through a temporary name in the same directory, renamed over `path` at
 * the end: a reader never sees half a file, and a failed write leaves nothing behind. Returns null,
 * or why it could not be written (an errno code, or the message of what `text()` threw).
 */
export function tryWrite(path: string, text: () => string): string | null {
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    const data = Buffer.from(text(), "utf8");
    // wx: never write through, or delete, an entry of that name that is not ours.
    fd = openSync(tmp, "wx", 0o644);
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    return null;
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== undefined) {
      try {
        unlinkSync(tmp);
      } catch {
        /* never created */
      }
    }
    return code ?? safeText((e as Error).message.split("\n")[0]!.slice(0, 300));
  }
}
