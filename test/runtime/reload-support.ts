/**
 * The reload tests' harness (test/runtime/reload*.test.ts): one node on the VirtualClock with
 * recording ports, VI_1 MASTER alone and VI_2 BACKUP under a peer master's adverts, and a `reload`
 * that applies a new spec and returns that event's outputs and the port calls it caused. Not pure.
 */
import type { Message } from "../../machines/events.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { type FileJournal, MemoryJournal } from "../../src/runtime/journal.ts";
import { Node, type Output } from "../../src/runtime/node.ts";
import { RecordingPorts } from "../../src/runtime/ports.ts";
import { type InstanceSpec, instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import { peerAdvert } from "../support/adverts.ts";

export const S = 1_000_000;
export const OWN = "198.18.0.1";
export const PEER = "198.18.0.9";

export const inst = (
  name: string,
  vrid: number,
  basePriority: number,
  vips: string[],
  over: Partial<InstanceSpec> = {},
): InstanceSpec => ({
  params: instanceDefaults({ name, vrid, ownIp: OWN, basePriority, vips }),
  tracking: [],
  unicastPeers: [],
  ...over,
});
export const specOf = (...instances: InstanceSpec[]): NodeSpec => ({ instances, groups: [], trackers: [] });

/** VI_1 (VRID 1, 200) becomes MASTER alone; VI_2 (VRID 2, 100) stays BACKUP under a peer at 150. */
export const base = (): NodeSpec =>
  specOf(inst("VI_1", 1, 200, ["198.18.1.1/32", "198.18.1.2/32"]), inst("VI_2", 2, 100, ["198.18.2.1/32"]));

export const harness = (spec: NodeSpec, journal: MemoryJournal | FileJournal = new MemoryJournal()) => {
  const clock = new VirtualClock();
  const ports = new RecordingPorts(() => clock.nowUs());
  const outs: Array<{ seq: number; kind: string; out: readonly Output[] }> = [];
  const node = new Node(spec, {
    clock,
    ports,
    journal,
    configHash: "h1",
    vigilVersion: "test",
    onApplied: (ev, out) => outs.push({ seq: ev.seq, kind: ev.input.kind, out }),
  });
  /** The peer master of VRID 2 advertises every second until `untilUs`. */
  const peerUntil = (untilUs: number, priority = 150) => {
    for (let t = Math.ceil(clock.nowUs() / S) * S + S / 2; t <= untilUs; t += S) {
      clock.advanceTo(t);
      node.input(
        peerAdvert(PEER, { version: 2, vrid: 2, priority, advertIntervalCs: 100, addresses: ["198.18.2.1"] }),
      );
    }
    clock.advanceTo(untilUs);
  };
  const reload = (next: NodeSpec, hash = "h2") => {
    const from = ports.records.length;
    const seen = outs.length;
    node.input({ kind: "reload", configHash: hash, spec: next });
    const last = outs.slice(seen).find((o) => o.kind === "reload");
    if (last === undefined) throw new Error("reload not applied");
    return { out: last.out as readonly (Message | Output)[], records: ports.records.slice(from) };
  };
  node.start();
  peerUntil(10 * S);
  return { clock, ports, node, outs, journal, peerUntil, reload };
};

export const ofType = <T extends string>(out: readonly { type: string }[], type: T) =>
  out.filter((o) => o.type === type) as Array<Extract<Message | Output, { type: T }>>;
export const nonLog = (out: readonly { type: string }[]) => out.filter((o) => o.type !== "log");

/** The VIP port's calls among `records`: each operation and the addresses it names. */
export const vipOps = (records: RecordingPorts["records"]) =>
  records
    .filter((r) => r.port === "vip")
    .map((r) => ({
      op: r.what.op,
      addresses: (r.what.addresses as Array<{ address: string }>).map((a) => a.address),
    }));
