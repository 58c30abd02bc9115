// The trace data layer's naming of engine objects and steps, shared by every renderer (text step
// table, HTML viewer, ITF): which objects are mirror SPTEs, S-EPT entries, locks or KVM state, and
// the KVM-level rows of a trace (a SEAMCALL's module steps folded into one row, guest steps named).
import type { StepRecord } from "../engine/index.js";
import { kvmSteps, type KvmStep } from "../kvm/index.js";

export interface ClassifyOptions {
  /** Paging fan-out (to name mirror entries by GFN). */
  fanout?: number;
  levels?: number;
}

export interface RowOptions {
  /** Do not fold SEAMCALLs into one row (show the module's internal steps). */
  raw?: boolean;
}

export interface Col {
  obj: string;
  header: string;
  kind: "mirror" | "sept" | "lock" | "state";
  sortKey: string;
}

export const LOCK_OPS = new Set(["lock", "unlock", "read_lock", "read_unlock", "write_lock", "write_unlock"]);
export const MODULE_OBJ = /^(tdr\.|tdcs\.|td\.|pamt\[|tdvps|tdvpr|vp\d|tlb|epoch)/;
export const MIRROR_SP = /^sp(\d+)\(L(\d+) gfn(\d+) T\d+\)\[(\d+)\]$/;
export const MIRROR_ROOT = /^mirror_root\[(\d+)\]$/;
export const SEPT = /^sept\.L(\d+)\[gpa (\d+)\]$/;
/** KVM objects that are per-thread bookkeeping rather than protocol state. */
export const NOISE = /^(srcu|gmem\[|mmu_invalidate_seq$|vcpu\d+\.srcu)/;

function pad(n: number, w: number): string {
  return String(n).padStart(w, " ");
}

export function classify(name: string, o: ClassifyOptions): Col | null {
  const fan = o.fanout ?? 2;
  const levels = o.levels ?? 3;
  let m = MIRROR_SP.exec(name);
  if (m) {
    const level = Number(m[2]);
    const gfn = Number(m[3]) + Number(m[4]) * fan ** (level - 1);
    return { obj: name, header: `mirror L${level} gfn ${gfn}`, kind: "mirror", sortKey: `0 ${pad(gfn, 6)} ${9 - level} 0` };
  }
  m = MIRROR_ROOT.exec(name);
  if (m) {
    const gfn = Number(m[1]) * fan ** (levels - 1);
    return { obj: name, header: `mirror L${levels} gfn ${gfn}`, kind: "mirror", sortKey: `0 ${pad(gfn, 6)} ${9 - levels} 0` };
  }
  m = SEPT.exec(name);
  if (m) {
    const level = Number(m[1]) + 1;
    const gfn = Number(m[2]);
    return { obj: name, header: `S-EPT L${level} gfn ${gfn}`, kind: "sept", sortKey: `0 ${pad(gfn, 6)} ${9 - level} 1` };
  }
  if (MODULE_OBJ.test(name) || NOISE.test(name)) return null;
  const prio = /^page\[/.test(name) ? 2 : /^(vm_bugged|wait_for_sept_zap|hkid_assigned|kvm_tdx->state)$/.test(name) ? 3 : 4;
  return { obj: name, header: name, kind: "state", sortKey: `${prio} ${name}` };
}

/** Function name of a step label: the text before the first ':' (or the whole label). */
export function functionOf(label: string): string {
  const i = label.indexOf(":");
  return (i > 0 ? label.slice(0, i) : label).trim();
}

/** KVM-level rows: SEAMCALLs folded, guest steps named as such, split SEAMCALLs marked. */
export function baseRows(steps: readonly StepRecord[], o: RowOptions): KvmStep[] {
  let base: KvmStep[] = o.raw
    ? steps.map((s) => ({ thread: s.threadName, label: s.label, raw: [s.index] }))
    : kvmSteps(steps).map((k) => ({ ...k }));
  // A SEAMCALL preempted half-way shows as two rows of its thread: say so.
  if (!o.raw)
    base.forEach((k, i) => {
      if (!k.label.startsWith("SEAMCALL ")) return;
      const j = base.findIndex((x, jj) => jj > i && x.thread === k.thread);
      if (j < 0 || base[j]!.label !== k.label) return;
      const last = steps[k.raw[k.raw.length - 1]!]!.label;
      base[i] = { ...k, label: `${k.label} (preempted after: ${last.slice(last.indexOf(":") + 1).trim()})` };
      base[j] = { ...base[j]!, label: `${k.label} (continued)` };
    });
  if (!o.raw)
    // A SEAMCALL row retried in a loop folds every call: say how many; a failed try-lock in the
    // last call means the module returned TDX_OPERAND_BUSY.
    base = base.map((k) => {
      if (!k.label.startsWith("SEAMCALL ") || /^SEAMCALL (guest walk|tdg_|td_ept_violation|td_exit)/.test(k.label)) return k;
      const entry = steps[k.raw[0]!]!.label;
      const starts = k.raw.filter((i) => steps[i]!.label === entry);
      const lastStart = starts.length ? starts[starts.length - 1]! : k.raw[0]!;
      const busy = k.raw.some((i) => i >= lastStart && steps[i]!.read === "busy");
      const suffix = `${starts.length > 1 ? ` x${starts.length}` : ""}${busy ? " -> BUSY" : ""}`;
      return suffix ? { ...k, label: k.label + suffix } : k;
    });
  if (!o.raw) {
    // Steps of the guest and of TD exits are the module's too, but no SEAMCALL: name them as such.
    const guest = (l: string): string | null => {
      const m = /^SEAMCALL (.*)$/.exec(l);
      if (!m) return null;
      const leaf = m[1]!;
      if (/^guest walk/.test(leaf)) return "guest access (S-EPT walk)";
      if (/^tdg_/.test(leaf)) return `guest TDCALL ${leaf}`;
      if (/^td_ept_violation/.test(leaf)) return "TD exit: EPT violation";
      if (/^td_exit/.test(leaf)) return "TD exit";
      return null;
    };
    const merged: KvmStep[] = [];
    for (const k of base) {
      const g = guest(k.label);
      const prev = merged[merged.length - 1];
      if (g !== null && prev && prev.thread === k.thread && prev.label === g) prev.raw = [...prev.raw, ...k.raw];
      else merged.push(g !== null ? { ...k, label: g } : k);
    }
    base = merged;
  }
  return base;
}

/** Where a modelled function lives (for --explain). */
export function sourceOf(fn: string): string {
  const f = fn.replace(/^SEAMCALL /, "");
  const table: [RegExp, string][] = [
    [/^tdh_|^tdg_|^td_exit|^td_ept_violation|^guest walk|^tdx_td_dispatcher/, "TDX module"],
    [/^(tdp_mmu_|kvm_tdp_mmu_|__tdp_mmu|tdp_iter|handle_changed_spte|handle_removed_pt|__handle_changed_spte|set_external_spte|remove_external_spte|zap|seed zap|try_step_down)/, "arch/x86/kvm/mmu/tdp_mmu.c"],
    [/^(kvm_mmu_|is_page_fault_stale|kvm_tdp_page_fault|direct_page_fault|__kvm_mmu)/, "arch/x86/kvm/mmu/mmu.c"],
    [/^(tdx_|tdh_do_no_vcpus|wait_for_sept_zap)/, "arch/x86/kvm/vmx/tdx.c"],
    [/^(vcpu_enter_guest|vcpu_run|kvm_vcpu_)/, "arch/x86/kvm/x86.c"],
    [/^(kvm_gmem|truncate_inode|fallocate)/, "virt/kvm/guest_memfd.c"],
    [/^(kvm_vm_set_mem_attributes|kvm_set_memory_attributes|kvm_mmu_invalidate|kvm_vm_ioctl|synchronize_srcu|kvm_set_memslot|kvm_make_all_cpus_request|kvm_flush_remote_tlbs)/, "virt/kvm/kvm_main.c"],
    [/^(read_lock|write_lock|read_unlock|write_unlock|spin_lock|spin_unlock|get_page|put_page|smp_)/, "kernel primitive"],
  ];
  for (const [re, where] of table) if (re.test(f)) return where;
  return "";
}
