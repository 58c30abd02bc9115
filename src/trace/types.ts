// The trace data that every renderer reads (text step table, HTML viewer, ITF): plain JSON, so that
// the page can embed it and the viewer's code (src/viewer, compiled with lib "dom") can import the
// types without importing Node code.

/** Where a state variable belongs in the state panel. */
export type VarGroup = "mirror" | "sept" | "lock" | "vcpu" | "page" | "pamt" | "kvm" | "module";

export interface TraceVar {
  /** Display name ("mirror L1 gfn 0", "mmu_lock", "page[pfn 1]"). */
  name: string;
  group: VarGroup;
  /** The engine object it shows (absent for derived values: mirror entries reached from the root, lock holders). */
  obj?: string;
}

/** One paging-structure entry (level, GFN): its mirror and S-EPT values are state variables. */
export interface TraceEntry {
  level: number;
  gfn: number;
  /** Window / quiescent-invariant key. */
  key: number;
  /** Index into `vars` of the mirror entry reached from the root (absent: the geometry has none). */
  mirror: number;
  /** Index into `vars` of the S-EPT entry. */
  sept: number;
}

export interface TraceStep {
  /** Thread index. */
  t: number;
  label: string;
  op: string;
  obj: string;
  read?: string;
  written?: string;
  /** State variables this step changed: [var index, new value]. */
  d: [number, string][];
  /** Indices into `entries` this step read or wrote (highlighted). */
  inv: number[];
  /** After this step: entries whose agreement check fails while no window is open on them (divergences). */
  div: number[];
  /** After this step: entries whose agreement check fails inside an open window (transient). */
  tr: number[];
  /** After this step: entries with a window open (a thread between its mirror update and the end of its S-EPT update). */
  win: number[];
}

/** A KVM-level step: one row of a lane (a SEAMCALL folds the module's internal steps). */
export interface TraceRow {
  t: number;
  label: string;
  /** Kernel or TDX-module function. */
  fn: string;
  /** Source file or "TDX module". */
  src: string;
  /** First and last raw step (inclusive). */
  from: number;
  to: number;
  /** The row folds a SEAMCALL's (or guest TDCALL's) internal steps. */
  seamcall: boolean;
}

export interface TraceProvenance {
  tdxmc: string;
  scenario: string;
  preset: string | null;
  switches: Record<string, string>;
  overrides: Record<string, string>;
  moduleVersion: string | null;
  fingerprint: string;
}

export interface TraceViolation {
  property: string;
  message: string;
  description: string;
  source: string;
  /** Raw step after which it was detected (-1: in the initial state). */
  step: number;
}

export interface TraceData {
  format: "tdxmc-trace";
  formatVersion: 1;
  title: string;
  threads: string[];
  provenance: TraceProvenance | null;
  /** Replay string (tdxmc replay STRING). */
  replay: string | null;
  geometry: { levels: number; fanout: number } | null;
  vars: TraceVar[];
  /** Initial value of each var. */
  initial: string[];
  entries: TraceEntry[];
  /** Initial window / divergence status, as in TraceStep. */
  init: { div: number[]; tr: number[]; win: number[] };
  steps: TraceStep[];
  rows: TraceRow[];
  violation: TraceViolation | null;
  /** Livelocks: the raw step where the repeating cycle starts. */
  cycleStart: number | null;
  /** First raw step after which an entry diverges (null: none). */
  firstDivergence: number | null;
}
