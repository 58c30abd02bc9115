// The TD's module-side state (M25 TDR/TDCS fields) as World cells, and the helpers every
// leaf shares: the lock prologue/epilogue in the leaves' order, and secure_ept_walk().
// All mutable state lives in the World: the engine resets it between executions.
import { Atomic, Counter, TryLock, type World } from "../engine/index.js";
import { SharexLock, entryCommit, entryLockHost, entryUnlock, type EntryLockResult, type Gen, type LockMode } from "./locks.js";
import { Dpamt, dpamtUnwalk, dpamtUnwalkEx, type DpamtConfig } from "./dpamt.js";
import { PAMT_NDA, PT, formatPamt, pamtPack } from "./pamt.js";
import { Geometry, S, SEPT_STATE_NAMES, SEPTE_INIT_VALUE, formatEntry, isLeafState, isPresent, mkEntry, stateOf, type SeptState } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { formatEpoch, packEpoch } from "./tlb.js";
import { lbl } from "../engine/label.js";

export type TdxVersion = "1.0" | "1.5.16" | "1.5.20" | "1.5.25";
export const LIFECYCLE = { HKID_ASSIGNED: 0, KEYS_CONFIGURED: 1, BLOCKED: 2, TEARDOWN: 3 } as const;
export type LifecycleName = keyof typeof LIFECYCLE;
export const LIFECYCLE_NAMES = ["TD_HKID_ASSIGNED", "TD_KEYS_CONFIGURED", "TD_BLOCKED", "TD_TEARDOWN"] as const;
/** op_state values (op_state_lookup.h); only these three are reachable without migration. */
export const OPSTATE = { UNINITIALIZED: 0, INITIALIZED: 1, RUNNABLE: 2 } as const;
export type OpStateName = keyof typeof OPSTATE;
export const VCPU_STATE = { UNINITIALIZED: 0, READY: 1 } as const;

export interface InitialMapping {
  gpa: number;
  level: number;
  state: "NL_MAPPED" | "NL_BLOCKED" | "MAPPED" | "BLOCKED" | "PENDING" | "PENDING_BLOCKED";
  pfn: number;
  /** For blocked states: PAMT.bepoch (default: the initial td_epoch). */
  bepoch?: number;
}

export interface TdxConfig {
  /** Levels of S-EPT entries (level 0 = 4K). Default 3. */
  levels?: number;
  /** Entries per S-EPT table (512 in the real module). Default 2. */
  fanout?: number;
  /** Module version; default "1.5.25". */
  version?: TdxVersion;
  /** STEPPING_EPF_THRESHOLD (td_exit_stepping.h); default 6. */
  zeroStepThreshold?: number;
  /** Number of vCPUs; default 1. */
  vcpus?: number;
  /** Number of physical pages available to the TD (PFNs 0 .. pfns-1); default 8. */
  pfns?: number;
  /** TDR.lifecycle_state; default KEYS_CONFIGURED (HKID assigned and keys configured). */
  lifecycle?: LifecycleName;
  /** TDCS.op_state; default RUNNABLE (after TDH.MR.FINALIZE). */
  opState?: OpStateName;
  /** vCPU state; default READY (TDH.VP.INIT done). */
  vcpusInitialized?: boolean;
  /** TD_CTLS.PENDING_VE_DISABLE; default false (#VE on PENDING). */
  pendingVeDisable?: boolean;
  /** TDR.fatal; default false. */
  fatal?: boolean;
  /** Initial td_epoch (default 1, as after TDH.MNG.INIT). */
  initialEpoch?: number;
  /** Zero-step state at the start: GPAs already in a vCPU's last_epf_gpa_list (count at threshold). */
  initialEpf?: { vcpu: number; gpas: number[] }[];
  /** S-EPT entries present at the start (parents first), with PAMT ownership and chldcnt set to match. */
  initial?: InitialMapping[];
  /**
   * Dynamic PAMT enabled (TDX_FEATURES0 bit 36, TDH.SYS.CONFIG R8 bit 16; module ≥ 1.5.20):
   * every range with a page in use at the start gets a node (dpamt.ts). Off by default.
   */
  dpamt?: DpamtConfig | boolean;
  /** PFNs that another TD uses at the start (PT_FOREIGN), e.g. to share a 2M range with this TD. */
  foreign?: number[];
  /**
   * DEMOTE/PROMOTE may see a pending host interrupt (TDX_INTERRUPTED_RESTARTABLE; an environment
   * choice): a module without TDX_FEATURES0.ENHANCE_DEMOTE_INTERRUPTIBILITY. Default false (the
   * feature KVM's huge-page series requires).
   */
  demoteHostInterrupts?: boolean;
}

/** tdState cell: lifecycle (bits 0-1), op_state (bits 2-3), fatal (bit 4), WBINVD pending (bit 5). */
export function lifecycleOf(v: number): number {
  return v & 3;
}
export function opStateOf(v: number): number {
  return (v >> 2) & 3;
}
export function fatalOf(v: number): boolean {
  return (v & 16) !== 0;
}
export function wbinvdPendingOf(v: number): boolean {
  return (v & 32) !== 0;
}
export function packTdState(lifecycle: number, opState: number, fatal: boolean, wbPending = false): number {
  return lifecycle | (opState << 2) | (fatal ? 16 : 0) | (wbPending ? 32 : 0);
}
function formatTdState(v: number): string {
  const ops = ["OP_UNINITIALIZED", "OP_INITIALIZED", "OP_RUNNABLE", "?"][opStateOf(v)];
  return `${LIFECYCLE_NAMES[lifecycleOf(v)]} ${ops}${fatalOf(v) ? " FATAL" : ""}${wbinvdPendingOf(v) ? " WBINVD-pending" : ""}`;
}

/**
 * vCPU cell: state (bits 0-1), in-guest (bit 2), assoc LP+1 (low 4 bits in bits 3-6, the rest in
 * bits 27-29), vcpu_epoch (bits 7-26). Ids above 14 (simulation: 16+ vCPUs) use bits 27-29 (ids up
 * to 126); below, the cell's value is what it was with a 4-bit field, so checker fingerprints do not change.
 */
/** vCPUs the module model holds (assoc LP + 1 in 7 bits). */
export const MAX_VCPUS = 126;
export function vcpuStateOf(v: number): number {
  return v & 3;
}
export function inGuestOf(v: number): boolean {
  return (v & 4) !== 0;
}
export function assocOf(v: number): number {
  return (((v >> 3) & 15) | (((v >>> 27) & 7) << 4)) - 1;
}
export function vcpuEpochOf(v: number): number {
  return (v >>> 7) & 0xfffff;
}
export function packVcpu(state: number, inGuest: boolean, assoc: number, epoch: number): number {
  const a = assoc + 1;
  return state | (inGuest ? 4 : 0) | ((a & 15) << 3) | ((epoch & 0xfffff) << 7) | ((a >> 4) << 27);
}
function formatVcpu(v: number): string {
  const a = assocOf(v);
  return `${vcpuStateOf(v) === VCPU_STATE.READY ? "READY" : "UNINIT"}${inGuestOf(v) ? " IN-GUEST" : ""} lp=${a < 0 ? "-" : a} epoch=${vcpuEpochOf(v)}`;
}

/**
 * Zero-step state of a vCPU (TDVPS last_epf_gpa_list/_idx, possibly_epf_stepping,
 * guest_rip_on_tdentry, hp_lock_busy). Written only by the vCPU's own guest side and TDH.VP.ENTER.
 * Layout: count (bits 0-3), guest RIP of the last exit (bits 4-11), RIP at last entry (bits 12-19),
 * hp_lock_busy (bit 20).
 */
export function stepCountOf(v: number): number {
  return v & 15;
}
export function lastRipOf(v: number): number {
  return (v >> 4) & 0xff;
}
export function entryRipOf(v: number): number {
  return (v >> 12) & 0xff;
}
export function hpBusyOf(v: number): boolean {
  return (v & (1 << 20)) !== 0;
}
export function packStepping(count: number, lastRip: number, entryRip: number, hpBusy: boolean): number {
  return (count & 15) | ((lastRip & 0xff) << 4) | ((entryRip & 0xff) << 12) | (hpBusy ? 1 << 20 : 0);
}

export interface Walk {
  /** Level where the walk stopped (== requested level on success). */
  level: number;
  /** The entry value read there. */
  value: number;
}

/** Locks a leaf holds, released in reverse order by `finish`. */
/**
 * The TD-scope locking of the S-EPT leaves (AUG, BLOCK, UNBLOCK, PAGE.REMOVE, SEPT.ADD, SEPT.REMOVE):
 * TDR shared (its operand in RDX), the op_state lock, and op_state INITIALIZED or RUNNABLE
 * (seamcall_state_lookup, op_state_lookup.c). Spread into Td.lockTd() with the leaf's label.
 */
export const SEPT_LEAF_TD_LOCKS = {
  tdr: "sh",
  tdrOperand: OP.RDX,
  opStateLock: true,
  allowedOpStates: [OPSTATE.INITIALIZED, OPSTATE.RUNNABLE],
} as const;

export class Held {
  tdr: LockMode | null = null;
  opState = false;
  tree: LockMode | null = null;
  entry: Atomic | null = null;
  epoch: LockMode | null = null;
  tdvpr: { v: number; mode: LockMode } | null = null;
  /** The TD state (lifecycle/op_state) read by lockTd; stable while the TDR lock is held. */
  tdState = 0;
  /** Dynamic PAMT: 2M PAMT entry locks held SH by this leaf's page walks (ranges). */
  pamt2m: number[] = [];
  /** Dynamic PAMT: 2M PAMT entry locks held EX (2M AUG, DEMOTE, PROMOTE of an S-EPT huge page). */
  pamt2mEx: number[] = [];
}

export class Td {
  readonly geo: Geometry;
  readonly version: TdxVersion;
  /**
   * TDX module 1.0 (qizhangz/tdx-module@9359de5, the module the v10/v11 KVM patches ran on). Its
   * differences are confined to the helpers below (lockTd, lockTree, walkAndLockEntry,
   * commitEntry, statusNotFree) and to BLOCK, REMOVE and ACCEPT:
   *  - every mutating host S-EPT leaf takes the tree lock EXCLUSIVELY
   *    (lock_sept_check_and_walk_private_gpa(..., TDX_LOCK_EXCLUSIVE, ...) in tdh_mem_page_aug.c,
   *    tdh_mem_sept_add.c, tdh_mem_range_block.c, tdh_mem_page_remove.c of 1.0);
   *  - there is no per-entry host lock (TDEL/TDHP): host exclusion is the tree lock; BLOCK
   *    commits with a cmpxchg on the entry it read (BUSY|RCX if it changed) and the guest's
   *    ACCEPT takes the entry's guest lock bit TDGL with a cmpxchg (tdg_mem_page_accept.c);
   *  - no op_state: leaves test the TDCS "finalized" flag (TDX_TD_FINALIZED /
   *    TDX_TD_NOT_FINALIZED); PAGE.AUG is not gated on it;
   *  - PAGE.REMOVE always needs the entry blocked and the block TLB-tracked, before finalize too.
   */
  readonly v10: boolean;
  readonly hpTree: boolean;
  readonly zeroStepThreshold: number;
  readonly nVcpus: number;
  readonly nPfns: number;
  readonly pendingVeDisable: boolean;
  /** DEMOTE/PROMOTE may be interrupted by a host interrupt (TdxConfig.demoteHostInterrupts). */
  readonly demoteHostInterrupts: boolean;
  /** PFN of the TDR page (after the data PFNs) and of each TDVPR page. */
  readonly tdrPfn: number;

  // --- cells ---
  readonly tdState: Atomic;
  readonly chldcnt: Counter;
  readonly tdrLock: SharexLock;
  readonly opStateLock: SharexLock;
  readonly treeLock: SharexLock;
  readonly epochLock: TryLock;
  readonly epoch: Atomic;
  readonly numAssoc: Counter;
  /** entries[level][index] */
  readonly entries: Atomic[][];
  readonly pamt: Atomic[];
  readonly vcpu: Atomic[];
  readonly tdvprLock: TryLock[];
  readonly stepping: Atomic[];
  readonly epfList: Atomic[];
  /** Dynamic PAMT state, or null when the feature is off. */
  readonly dpamt: Dpamt | null;

  constructor(world: World, cfg: TdxConfig = {}) {
    this.geo = new Geometry(cfg.levels ?? 3, cfg.fanout ?? 2);
    this.version = cfg.version ?? "1.5.25";
    if (!["1.0", "1.5.16", "1.5.20", "1.5.25"].includes(this.version)) throw new RangeError(`unsupported version ${this.version}`);
    this.v10 = this.version === "1.0";
    // Host priority on the tree lock exists from 1.5.20; 1.0 has none at all: plain sharex locks,
    // no TDHP, no TDX_OPERAND_BUSY_HOST_PRIORITY (qizhangz/tdx-module@9359de5 tdx_locks.h).
    this.hpTree = !this.v10 && this.version !== "1.5.16";
    if (this.v10 && cfg.dpamt) throw new RangeError("Dynamic PAMT needs module 1.5.20 or later, not 1.0");
    this.zeroStepThreshold = cfg.zeroStepThreshold ?? 6;
    if (!Number.isInteger(this.zeroStepThreshold) || this.zeroStepThreshold < 0 || this.zeroStepThreshold > 15) throw new RangeError("zeroStepThreshold must be 0..15");
    this.nVcpus = cfg.vcpus ?? 1;
    this.nPfns = cfg.pfns ?? 8;
    // 1..14 for the checker; up to MAX_VCPUS for simulation (the association field's 7 bits).
    if (this.nVcpus < 1 || this.nVcpus > MAX_VCPUS) throw new RangeError(`vcpus must be 1..${MAX_VCPUS}`);
    // An S-EPT entry cell holds PFN+1 in bits 10-30 (sept.ts).
    if (this.nPfns < 1 || this.nPfns > (1 << 21) - 2) throw new RangeError(`pfns must be 1..${(1 << 21) - 2}`);
    this.pendingVeDisable = cfg.pendingVeDisable ?? false;
    this.demoteHostInterrupts = cfg.demoteHostInterrupts ?? false;
    this.tdrPfn = this.nPfns;
    const lifecycle = LIFECYCLE[cfg.lifecycle ?? "KEYS_CONFIGURED"];
    const opState = OPSTATE[cfg.opState ?? "RUNNABLE"];
    const epoch0 = cfg.initialEpoch ?? 1;

    // Compute initial entries, PAMT and chldcnt from cfg.initial.
    const g = this.geo;
    const entryInit: number[][] = [];
    for (let l = 0; l < g.levels; l++) entryInit.push(new Array<number>(g.count(l)).fill(SEPTE_INIT_VALUE));
    const pamtInit = new Array<number>(this.nPfns + 1 + this.nVcpus).fill(PAMT_NDA);
    pamtInit[this.tdrPfn] = pamtPack({ pt: PT.TDR });
    for (let v = 0; v < this.nVcpus; v++) pamtInit[this.tdrPfn + 1 + v] = pamtPack({ pt: PT.TDVPR, owner: v });
    let chld = this.nVcpus; // TDVPR pages are TD children (TDR.chldcnt)
    for (const m of cfg.initial ?? []) {
      const s = S[m.state] as SeptState;
      if (!g.validPageInfo(m.gpa, m.level, isLeafState(s) ? 0 : 1, g.top)) throw new RangeError(`initial mapping: bad gpa/level ${m.gpa}/${m.level}`);
      // parents must be NL_MAPPED (so walks reach it)
      for (let l = g.top; l > m.level; l--) {
        if (stateOf(entryInit[l]![g.index(m.gpa, l)]!) !== S.NL_MAPPED)
          throw new RangeError(`initial mapping gpa ${m.gpa} L${m.level}: parent at L${l} is not NL_MAPPED (list parents first)`);
      }
      entryInit[m.level]![g.index(m.gpa, m.level)] = mkEntry(s, m.pfn);
      const be = m.bepoch ?? epoch0;
      if (isLeafState(s)) {
        const n = g.span(m.level);
        if (m.pfn % n !== 0 || m.pfn + n > this.nPfns) throw new RangeError(`initial mapping: pfn ${m.pfn} not aligned/in range`);
        for (let i = 0; i < n; i++) {
          if (pamtInit[m.pfn + i] !== PAMT_NDA) throw new RangeError(`initial mapping: pfn ${m.pfn + i} used twice`);
          pamtInit[m.pfn + i] = pamtPack({ pt: PT.REG, size: m.level, owner: m.gpa + i, bepoch: i === 0 && s !== S.MAPPED && s !== S.PENDING ? be : 0 });
        }
        chld += n;
      } else {
        if (pamtInit[m.pfn] !== PAMT_NDA) throw new RangeError(`initial mapping: pfn ${m.pfn} used twice`);
        pamtInit[m.pfn] = pamtPack({ pt: PT.EPT, owner: m.gpa, ownerLevel: m.level, bepoch: s === S.NL_BLOCKED ? be : 0 });
        chld += 1;
      }
    }

    for (const f of cfg.foreign ?? []) {
      if (!Number.isInteger(f) || f < 0 || f >= this.nPfns || pamtInit[f] !== PAMT_NDA) throw new RangeError(`foreign pfn ${f}: not a free PFN of the model`);
      pamtInit[f] = pamtPack({ pt: PT.FOREIGN });
    }
    this.dpamt = cfg.dpamt ? new Dpamt(world, this.geo.span(1), pamtInit, cfg.dpamt === true ? {} : cfg.dpamt) : null;

    this.tdState = new Atomic(world, "td.state", packTdState(lifecycle, opState, cfg.fatal ?? false), formatTdState);
    this.chldcnt = new Counter(world, "tdr.chldcnt", chld);
    this.tdrLock = new SharexLock(world, "tdr.lock", false);
    this.opStateLock = new SharexLock(world, "tdcs.op_state_lock", false);
    this.treeLock = new SharexLock(world, "tdcs.secure_ept_lock", this.hpTree);
    this.epochLock = new TryLock(world, "tdcs.epoch_lock");
    this.epoch = new Atomic(world, "tdcs.epoch_and_refcount", packEpoch(epoch0), formatEpoch);
    this.numAssoc = new Counter(world, "tdcs.num_assoc_vcpus", 0);
    this.entries = [];
    for (let l = 0; l < g.levels; l++) {
      const row: Atomic[] = [];
      const span = g.span(l);
      const of = (i: number): string => `sept.L${l}[gpa ${i * span}]`;
      for (let i = 0; i < g.count(l); i++) row.push(new Atomic(world, { of, i }, entryInit[l]![i]!, formatEntry));
      this.entries.push(row);
    }
    const tdrPfn = this.tdrPfn;
    const pamtName = (i: number): string => (i === tdrPfn ? "pamt[TDR]" : i > tdrPfn ? `pamt[TDVPR${i - tdrPfn - 1}]` : `pamt[pfn ${i}]`);
    this.pamt = pamtInit.map((v, i) => new Atomic(world, { of: pamtName, i }, v, formatPamt));
    const vs = cfg.vcpusInitialized === false ? VCPU_STATE.UNINITIALIZED : VCPU_STATE.READY;
    this.vcpu = [];
    this.tdvprLock = [];
    this.stepping = [];
    this.epfList = [];
    for (let v = 0; v < this.nVcpus; v++) {
      this.vcpu.push(new Atomic(world, `vcpu${v}`, packVcpu(vs, false, -1, epoch0), formatVcpu));
      this.tdvprLock.push(new TryLock(world, `vcpu${v}.tdvpr_lock`));
      const epf = (cfg.initialEpf ?? []).filter((e) => e.vcpu === v).flatMap((e) => e.gpas);
      for (const gpa of epf) if (!Number.isInteger(gpa) || gpa < 0 || gpa > 30 || gpa >= g.pages) throw new RangeError(`initialEpf: bad GPA ${gpa}`);
      const epfMask = epf.reduce((m, gpa) => m | (1 << gpa), 0);
      this.stepping.push(new Atomic(world, `vcpu${v}.stepping`, epf.length ? packStepping(this.zeroStepThreshold, 0, 0, false) : 0, (x) => `epf-count=${stepCountOf(x)} last-rip=${lastRipOf(x)} entry-rip=${entryRipOf(x)}${hpBusyOf(x) ? " hp_lock_busy" : ""}`));
      this.epfList.push(new Atomic(world, `vcpu${v}.last_epf_gpa_list`, epfMask, (x) => `{${maskList(x).join(",")}}`));
    }
  }

  entry(gpa: number, level: number): Atomic {
    return this.entries[level]![this.geo.index(gpa, level)]!;
  }
  tdvprPfn(v: number): number {
    return this.tdrPfn + 1 + v;
  }
  checkVcpu(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v >= this.nVcpus) throw new RangeError(`no vCPU ${v}`);
  }

  // ---------------------------------------------------------------- shared leaf helpers

  /**
   * Release everything in `held`, in reverse acquisition order, then return `s`. Each release is
   * its own step (the EXIT: blocks of every api_calls/*.c file).
   */
  *finish(held: Held, s: Status, label: string): Gen<Status> {
    if (this.dpamt && held.pamt2mEx.length) yield* dpamtUnwalkEx(this.dpamt, held.pamt2mEx, label);
    if (this.dpamt && held.pamt2m.length) yield* dpamtUnwalk(this.dpamt, held.pamt2m, label);
    if (held.entry) {
      yield* entryUnlock(held.entry, label);
      held.entry = null;
    }
    if (held.epoch) {
      if (held.epoch === "ex") yield this.epochLock.releaseExclusive(lbl`${label}: epoch_lock unlock EX`);
      else yield this.epochLock.releaseShared(lbl`${label}: epoch_lock unlock SH`);
      held.epoch = null;
    }
    if (held.tree) {
      yield* this.treeLock.release(held.tree, lbl`${label}: secure_ept_lock`);
      held.tree = null;
    }
    if (held.opState) {
      yield* this.opStateLock.release("sh", lbl`${label}: op_state_lock`);
      held.opState = false;
    }
    if (held.tdr) {
      yield* this.tdrLock.release(held.tdr, lbl`${label}: TDR lock`);
      held.tdr = null;
    }
    if (held.tdvpr) {
      const l = this.tdvprLock[held.tdvpr.v]!;
      yield held.tdvpr.mode === "ex" ? l.releaseExclusive(lbl`${label}: TDVPR unlock EX`) : l.releaseShared(lbl`${label}: TDVPR unlock SH`);
      held.tdvpr = null;
    }
    return s;
  }

  /**
   * The common leaf prologue: TDR lock, check_td_in_correct_build_state (helpers.c), op_state lock (shared,
   * host) and the op_state gating of seamcall_state_lookup (op_state_lookup.c).
   * Returns TDX_SUCCESS or the failure status (locks taken so far stay in `held`).
   */
  *lockTd(held: Held, o: { tdr: LockMode; tdrOperand: number; opStateLock: boolean; allowedOpStates: readonly number[]; label: string }): Gen<Status> {
    if (!(yield* this.tdrLock.acquireHost(o.tdr, lbl`${o.label}: TDR lock`))) return st(C.OPERAND_BUSY, o.tdrOperand);
    held.tdr = o.tdr;
    const s = yield this.tdState.load(lbl`${o.label}: check_td_in_correct_build_state`);
    held.tdState = s;
    if (fatalOf(s)) return st(C.TD_FATAL);
    if (lifecycleOf(s) !== LIFECYCLE.KEYS_CONFIGURED) return st(C.TD_KEYS_NOT_CONFIGURED);
    if (this.v10) {
      // 1.0: no op_state lock; the leaf reads TDCS.finalized. INITIALIZED = not finalized,
      // RUNNABLE = finalized (tdh_mem_page_add.c / tdh_mr_extend.c / tdh_vp_init.c of 1.0 return
      // TDX_TD_FINALIZED after finalize; tdh_vp_enter.c TDX_TD_NOT_FINALIZED before it).
      const ops = opStateOf(s);
      if (o.allowedOpStates.includes(ops)) return TDX_SUCCESS;
      return st(ops === OPSTATE.RUNNABLE ? C.TD_FINALIZED : C.TD_NOT_FINALIZED);
    }
    if (o.opStateLock) {
      if (!(yield* this.opStateLock.acquireHost("sh", lbl`${o.label}: op_state_lock`))) return st(C.OPERAND_BUSY, OP.OP_STATE);
      held.opState = true;
    }
    const ops = opStateOf(s);
    if (!o.allowedOpStates.includes(ops)) return st(C.OP_STATE_INCORRECT, ops);
    return TDX_SUCCESS;
  }

  /** Take the S-EPT tree lock in host role (BUSY|SEPT_TREE on failure). */
  *lockTree(held: Held, mode: LockMode, label: string): Gen<Status> {
    // 1.0: every host S-EPT leaf (and the zero-step filter) takes the tree lock exclusively.
    if (this.v10) mode = "ex";
    if (!(yield* this.treeLock.acquireHost(mode, lbl`${label}: secure_ept_lock`))) return st(C.OPERAND_BUSY, OP.SEPT_TREE);
    held.tree = mode;
    return TDX_SUCCESS;
  }

  /**
   * secure_ept_walk (sept_manager.c): from the root, read one entry per level (one atomic read
   * = one step); stop at the requested level, or early at a non-present entry or a leaf.
   */
  *walk(gpa: number, level: number, label: string): Gen<Walk> {
    for (let l = this.geo.top; ; l--) {
      const v = yield this.entry(gpa, l).load(lbl`${label}: secure_ept_walk L${l}`);
      const s = stateOf(v);
      if (l === level || !isPresent(s) || isLeafState(s)) return { level: l, value: v };
    }
  }

  /**
   * The tail of lock_sept_check_and_walk_private_gpa (sept_manager.c) shared by the host leaves:
   * walk to (gpa, level) — EPT_WALK_FAILED if the walk stops above it — then take the entry's
   * lock on the host side — OPERAND_BUSY|RCX (and TDHP set) if it is held. Returns the failure
   * status, or the locked entry and the value found when locking it.
   */
  /**
   * The opening every host S-EPT leaf shares (AUG, SEPT.ADD, BLOCK, UNBLOCK, REMOVE, SEPT.REMOVE,
   * DEMOTE, PROMOTE in M25 tdh_mem_*.c): TDR shared and op_state, the S-EPT tree lock in `tree`
   * mode, then the walk to the entry and its lock. A failure is already finished (locks released);
   * `running` is read while the TDR lock keeps op_state stable.
   */
  *openSeptLeaf(held: Held, gpa: number, level: number, tree: LockMode, label: string): Gen<Status | { cell: Atomic; lk: EntryLockResult; running: boolean }> {
    let s = yield* this.lockTd(held, { ...SEPT_LEAF_TD_LOCKS, label });
    if (s !== TDX_SUCCESS) return yield* this.finish(held, s, label);
    const running = Td.running(held.tdState);
    s = yield* this.lockTree(held, tree, label);
    if (s !== TDX_SUCCESS) return yield* this.finish(held, s, label);
    const got = yield* this.walkAndLockEntry(held, gpa, level, label);
    if (typeof got === "number") return yield* this.finish(held, got, label);
    return { ...got, running };
  }

  *walkAndLockEntry(held: Held, gpa: number, level: number, label: string): Gen<Status | { cell: Atomic; lk: EntryLockResult }> {
    const w = yield* this.walk(gpa, level, label);
    if (w.level !== level) return st(C.EPT_WALK_FAILED, OP.RCX);
    const cell = this.entry(gpa, level);
    // 1.0: no entry lock; the tree lock (EX) excludes the other host leaves, and the value the
    // walk read is the leaf's "entry copy" (the guest's TDGL bit, the TDEL bit of the cell in 1.0,
    // may be set in it).
    if (this.v10) return { cell, lk: { ok: true, value: w.value, hostPriority: false } };
    const lk = yield* entryLockHost(cell, label);
    if (!lk.ok) return st(C.OPERAND_BUSY, OP.RCX);
    held.entry = cell;
    return { cell, lk };
  }

  /**
   * Write a walked-and-locked entry: 1.5 — the locked commit (entryCommit; `unlock` releases TDEL
   * with the write); 1.0 — a plain 64-bit store under the exclusive tree lock (the entry is not
   * locked; tdh_mem_page_aug.c / tdh_mem_page_remove.c of 1.0 write the entry directly).
   */
  *commitEntry(held: Held, cell: Atomic, expected: number, next: number, unlock: boolean, label: string): Gen<void> {
    if (this.v10) {
      // One 64-bit write; an exchange here only so that a trace shows the value it replaced.
      yield cell.rmw(() => next, lbl`${label}: write entry (tree lock EX)`);
      return;
    }
    yield* entryCommit(cell, expected, next, unlock, label);
    if (unlock) held.entry = null;
  }

  /** The status of an ADD/AUG/SEPT.ADD that finds its entry in use: 1.0 checks the FREE state itself. */
  statusNotFree(): Status {
    return st(this.v10 ? C.EPT_ENTRY_NOT_FREE : C.EPT_ENTRY_STATE_INCORRECT, OP.RCX);
  }

  /** Is the TD "running" (tlb_tracking_required(op_state), helpers.h)? From a tdState value. */
  static running(tdState: number): boolean {
    return opStateOf(tdState) === OPSTATE.RUNNABLE;
  }

  // ---------------------------------------------------------------- inspectors (peek, not steps)

  peekWalk(gpa: number, level = 0): Walk {
    for (let l = this.geo.top; ; l--) {
      const v = this.entry(gpa, l).peek();
      const s = stateOf(v);
      if (l === level || !isPresent(s) || isLeafState(s)) return { level: l, value: v };
    }
  }
}

export function maskList(m: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 31; i++) if (m & (1 << i)) out.push(i);
  return out;
}

export function stateName(s: SeptState): string {
  return SEPT_STATE_NAMES[s] ?? `?${s}`;
}
