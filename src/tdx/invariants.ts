// Consistency of the module's state (what M25 sept_manager.c and the leaves keep), for checkers: for quiescent
// points (end of an execution, or whenever no SEAMCALL/TDCALL is in flight), since a leaf in
// progress legitimately breaks it between its steps (e.g. PAGE.REMOVE frees the PAMT entry one
// step after writing the S-EPT entry FREE).
import { LIFECYCLE, type Td, assocOf, inGuestOf, lifecycleOf } from "./td.js";
import { PT, pamtUnpack } from "./pamt.js";
import { NODE, nodeKind, nodePair, poolBitOf, poolWordOf } from "./dpamt.js";
import { S, SEPT_STATE_NAMES, TDEL, isLeafState, pfnOf, stateOf } from "./sept.js";
import { refcountOf } from "./tlb.js";

/** null when consistent, else the first problem found. */
export function moduleConsistency(td: Td): string | null {
  const g = td.geo;
  if (lifecycleOf(td.tdState.peek()) !== LIFECYCLE.KEYS_CONFIGURED) return null; // S-EPT abandoned after VPFLUSHDONE
  const refs = new Map<number, string>();
  let expectChld = td.nVcpus;
  for (let v = 0; v < td.nVcpus; v++) if (pamtUnpack(td.pamt[td.tdvprPfn(v)]!.peek()).pt !== PT.TDVPR) expectChld--;
  for (let l = g.top; l >= 0; l--) {
    for (let i = 0; i < g.count(l); i++) {
      const gpa = i * g.span(l);
      const v = td.entries[l]![i]!.peek();
      const s = stateOf(v);
      const where = `S-EPT L${l}@gpa${gpa} (${SEPT_STATE_NAMES[s]})`;
      if (v & TDEL) return `${where}: entry lock (TDEL) still held`;
      if (l < g.top) {
        const parent = stateOf(td.entry(gpa, l + 1).peek());
        if ((parent === S.FREE || isLeafState(parent)) && s !== S.FREE) return `${where}: non-FREE entry under a ${SEPT_STATE_NAMES[parent]} parent`;
      }
      if (s === S.FREE) continue;
      const pfn = pfnOf(v);
      if (isLeafState(s)) {
        const n = g.span(l);
        expectChld += n;
        for (let k = 0; k < n; k++) {
          const p = pamtUnpack(td.pamt[pfn + k]!.peek());
          if (p.pt !== PT.REG || p.owner !== gpa + k || p.size !== l) return `${where}: pfn ${pfn + k} is not PT_REG for gpa ${gpa + k} at L${l}`;
          if (refs.has(pfn + k)) return `${where}: pfn ${pfn + k} also mapped by ${refs.get(pfn + k)}`;
          refs.set(pfn + k, where);
        }
      } else {
        expectChld += 1;
        const p = pamtUnpack(td.pamt[pfn]!.peek());
        if (p.pt !== PT.EPT || p.owner !== gpa || p.ownerLevel !== l) return `${where}: child table pfn ${pfn} is not PT_EPT for it`;
        if (refs.has(pfn)) return `${where}: pfn ${pfn} also used by ${refs.get(pfn)}`;
        refs.set(pfn, where);
      }
    }
  }
  for (let pfn = 0; pfn < td.nPfns; pfn++) {
    const p = pamtUnpack(td.pamt[pfn]!.peek());
    if ((p.pt === PT.REG || p.pt === PT.EPT) && !refs.has(pfn)) return `pfn ${pfn} is ${p.pt === PT.REG ? "PT_REG" : "PT_EPT"} but no S-EPT entry uses it (leaked)`;
  }
  const chld = td.chldcnt.peek();
  if (chld !== expectChld) return `TDR.chldcnt is ${chld}, the S-EPT and TDVPR pages account for ${expectChld}`;
  let inGuest = 0;
  let assoc = 0;
  for (let v = 0; v < td.nVcpus; v++) {
    const x = td.vcpu[v]!.peek();
    if (inGuestOf(x)) inGuest++;
    if (assocOf(x) >= 0) assoc++;
  }
  const e = td.epoch.peek();
  if (refcountOf(e, 0) + refcountOf(e, 1) !== inGuest) return `epoch refcounts ${refcountOf(e, 0)}+${refcountOf(e, 1)} != ${inGuest} vCPUs in the guest`;
  if (td.numAssoc.peek() !== assoc) return `num_assoc_vcpus ${td.numAssoc.peek()} != ${assoc} associated vCPUs`;
  if (!td.treeLock.isFree()) return "S-EPT tree lock still held";
  const d = td.dpamt;
  if (d) {
    // Dynamic PAMT: every 4K page in use lies in a range with a node; no 2M PAMT entry lock held;
    // the bitmap holds exactly the pairs of the nodes.
    const pairs = new Array<number>(d.bitmap.length).fill(0);
    for (let r = 0; r < d.node.length; r++) {
      if (!d.lock[r]!.isFree()) return `PAMT 2M entry lock of range ${r} still held`;
      const v = d.node[r]!.peek();
      if (nodeKind(v) === NODE.PAMT) for (const i of nodePair(v)) pairs[poolWordOf(i)]! |= poolBitOf(i);
      for (let k = 0; k < d.fanout; k++) {
        const c = td.pamt[d.rangeBase(r) + k];
        if (c && c.peek() !== 0 && nodeKind(v) === NODE.NDA) return `pfn ${d.rangeBase(r) + k} is in use but range ${r} has no PAMT page pair`;
      }
    }
    for (let w = 0; w < pairs.length; w++) {
      const b = d.bitmap[w]!.peek();
      if (pairs[w] !== b) return `PAMT page bitmap ${d.bitmap.length === 1 ? "" : `word ${w} `}${b} does not match the nodes' pairs ${pairs[w]}`;
    }
  }
  if (!td.epochLock.isFree()) return "epoch lock still held";
  if (td.tdrLock.heldExclusive() || td.tdrLock.sharedCount() !== inGuest) return `TDR lock ${td.tdrLock.heldExclusive() ? "EX" : `SH×${td.tdrLock.sharedCount()}`} with ${inGuest} vCPUs in the guest`;
  return null;
}
