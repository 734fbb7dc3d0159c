/**
 * Test harness for machine rules: one Node on a VirtualClock with recording effect ports and no
 * transport. Peer adverts are encoded with the real codec and fed as `rx` inputs; every output is
 * recorded with the virtual time at which it was produced.
 */
import type { InstanceParams, Message } from "../../machines/events.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { MemoryJournal } from "../../src/runtime/journal.ts";
import { Node, type Output } from "../../src/runtime/node.ts";
import { RecordingPorts } from "../../src/runtime/ports.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import { peerAdvert } from "../support/adverts.ts";

export interface Timed {
  readonly atUs: number;
  readonly out: Output;
}

export const S = 1_000_000;

export class Harness {
  readonly clock = new VirtualClock();
  readonly ports = new RecordingPorts(() => this.clock.nowUs());
  readonly journal = new MemoryJournal();
  readonly log: Timed[] = [];
  readonly node: Node;

  constructor(readonly spec: NodeSpec) {
    this.node = new Node(spec, {
      clock: this.clock,
      ports: this.ports,
      journal: this.journal,
      configHash: "test",
      vigilVersion: "test",
      onApplied: (ev, outs) => {
        for (const out of outs) this.log.push({ atUs: ev.atUs, out });
      },
    });
  }

  static single(
    over: Partial<InstanceParams> = {},
    extra: Partial<NodeSpec["instances"][number]> = {},
  ): Harness {
    const params = instanceDefaults({
      name: "VI_1",
      vrid: 1,
      ownIp: "198.18.0.1",
      vips: ["198.18.0.100"],
      ...over,
    });
    return new Harness({
      instances: [{ params, tracking: [], unicastPeers: [], ...extra }],
      groups: [],
      trackers: [],
    });
  }

  start(): this {
    this.node.start();
    return this;
  }
  at(us: number): this {
    this.clock.advanceTo(us);
    return this;
  }
  /** A peer advert for VRID `vrid` from `src` (v2 unless `version` 3). */
  advert(
    src: string,
    priority: number,
    o: { vrid?: number; intervalCs?: number; version?: 2 | 3; vips?: string[] } = {},
  ): this {
    this.node.input(
      peerAdvert(src, {
        version: o.version ?? 2,
        vrid: o.vrid ?? 1,
        priority,
        advertIntervalCs: o.intervalCs ?? 100,
        addresses: o.vips ?? ["198.18.0.100"],
      }),
    );
    return this;
  }
  probe(tracker: string, ok: boolean): this {
    this.node.input({ kind: "probe", tracker, ok });
    return this;
  }
  link(ifname: string, up: boolean): this {
    this.node.input({ kind: "link", ifname, up });
    return this;
  }

  /** Outputs of one type, with times. */
  of<T extends Output["type"]>(type: T): Array<{ atUs: number; out: Extract<Output, { type: T }> }> {
    return this.log.filter((t) => t.out.type === type) as Array<{
      atUs: number;
      out: Extract<Output, { type: T }>;
    }>;
  }
  states(actor = "instance:VI_1"): Array<[number, string]> {
    return this.of("state")
      .filter((t) => t.out.actor === actor)
      .map((t) => [t.atUs, t.out.to]);
  }
  adverts(instance = "VI_1"): Array<[number, number]> {
    return this.of("sendAdvert")
      .filter((t) => t.out.instance === instance)
      .map((t) => [t.atUs, t.out.priority]);
  }
  lines(): string[] {
    return this.of("log").map((t) => t.out.line);
  }
  fifo(): string[] {
    return this.of("fifo").map((t) => t.out.line);
  }
  commands(): Message[] {
    return this.log.map((t) => t.out).filter((o): o is Message => o.type !== "state");
  }
}
