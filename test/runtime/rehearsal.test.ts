/**
 * A rehearsed machine step (actor-registry.ts `rehearse`) is taken by the next step only when that is
 * the same event object on the same snapshot; anything else runs XState as before. Machines are pure,
 * so a taken rehearsal is the step itself: a node whose every down timer is rehearsed writes the same
 * journal as one whose timers are not.
 */
import { describe, expect, it, vi } from "vitest";
import { ActorRegistry } from "../../src/runtime/actor-registry.ts";
import { MachineDriver } from "../../src/runtime/machine-driver.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";

const spec: NodeSpec = {
  instances: [instanceDefaults({ name: "VI_1", vrid: 51, ownIp: "198.18.0.2", vips: ["198.18.4.51"] })].map(
    (params) => ({ params, tracking: [], unicastPeers: [] }),
  ),
  groups: [],
  trackers: [],
};

describe("a rehearsed step", () => {
  const setup = () => {
    const registry = new ActorRegistry(spec, true, () => {});
    const actor = registry.instance("VI_1");
    if (actor === undefined) throw new Error("no actor");
    registry.step(actor, { type: "START" }, []);
    return { registry, actor };
  };

  it("is taken by the same event on the same snapshot, and gives what XState gives", () => {
    const { registry, actor } = setup();
    const down = { type: "MASTER_DOWN" };
    const fresh = setup();
    const expected = fresh.registry.step(fresh.actor, { type: "MASTER_DOWN" }, []);
    registry.rehearse(actor, down);
    const steps = vi.spyOn(MachineDriver.prototype, "step");
    try {
      const changes: Array<{ from: string; to: string }> = [];
      const actions = registry.step(actor, down, changes as never);
      expect(steps).not.toHaveBeenCalled();
      expect(actions).toEqual(expected);
      expect(changes).toEqual([expect.objectContaining({ from: "BACKUP", to: "MASTER" })]);
      expect(actor.snapshot.value).toEqual(fresh.actor.snapshot.value);
    } finally {
      steps.mockRestore();
    }
  });

  it("is not taken by another event object, nor after the snapshot changed, nor twice", () => {
    const { registry, actor } = setup();
    const steps = vi.spyOn(MachineDriver.prototype, "step");
    try {
      registry.rehearse(actor, { type: "MASTER_DOWN" });
      registry.step(actor, { type: "MASTER_DOWN" }, []); // an equal event, not the same object
      expect(steps).toHaveBeenCalledTimes(2);
      const down = { type: "MASTER_DOWN" };
      registry.rehearse(actor, down);
      registry.step(actor, { type: "SHUTDOWN" }, []); // the snapshot changes
      registry.step(actor, down, []);
      expect(steps).toHaveBeenCalledTimes(5);
    } finally {
      steps.mockRestore();
    }
  });
});
