import { describe, expect, it } from "vitest";
import { checkScenario, SCENARIOS } from "../../src/kvm/index.js";

// KVM_PRE_FAULT_MEMORY on a memslot being deleted: 6.18+ returns -EAGAIN (3ccbf6f47098), so the
// ioctl drops kvm->srcu and the deletion's synchronize_srcu() returns; before, the prefault retried
// in the kernel while holding SRCU (a livelock until a signal). Fails on the old model, which
// looped in both cases.
describe("prefault on an INVALID memslot (prefault-invalid-slot)", () => {
  const sc = SCENARIOS["pre-fault-vs-memslot-delete"]!;
  it("6.19 (eagain): the deletion completes — verified", () => {
    expect(checkScenario(sc, "upstream-6.19", { minimize: false }).verdict).toBe("verified");
  });
  it("6.19 with prefault-invalid-slot=retry (the 6.10–6.17 loop): livelock", () => {
    expect(checkScenario(sc, "upstream-6.19", { minimize: false, overrides: { "prefault-invalid-slot": "retry" } }).verdict).toBe("violated:livelock");
  });
});
