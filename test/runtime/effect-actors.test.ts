/**
 * Effect actors (src/runtime/effect-actors.ts): ports that throw, reject or never answer, one command
 * kind at a time, never strand an instance — it keeps its timers and keeps advertising on the wire,
 * the failure is a journaled `effect` input with keepalived's log line in its `out`, and the journal
 * replays with `--verify`. Mailboxes keep the machines' order and never wait on each other. VirtualClock
 * only; `flush()` lets promise callbacks run (no real time passes).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Subject } from "rxjs";
import { describe, expect, test } from "vitest";
import { replayCommand } from "../../src/cli/replay.ts";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { EFFECT_TIMEOUT_US } from "../../src/runtime/effect-actors.ts";
import type { EffectInput, Event, Input } from "../../src/runtime/input.ts";
import { MemoryJournal, parseJournal } from "../../src/runtime/journal.ts";
import { Node, type Output } from "../../src/runtime/node.ts";
import {
  type EffectPorts,
  type FaultMode,
  FaultyPorts,
  type PortCall,
  RecordingPorts,
  type VipAddress,
} from "../../src/runtime/ports.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import { defaultVipAddress, instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import type { Datagram, Outbound, Transport } from "../../transports/transport.ts";
import { routeOf } from "../support/routes.ts";
import { tempDirForTest } from "../support/temp.ts";

const S = 1_000_000;
const flush = () => new Promise<void>((r) => setImmediate(r));

/** A transport that records what is sent (virtual time) and lets the test inject datagrams. */
const wireOf = (clock: VirtualClock) => {
  const sent: Array<{ atUs: number; out: Outbound }> = [];
  const inbound = new Subject<Datagram>();
  const transport: Transport = {
    inbound$: inbound,
    send: (out) => void sent.push({ atUs: clock.nowUs(), out }),
    close: () => inbound.complete(),
  };
  return { sent, transport };
};

const instance = (name: string, vrid: number, ifname: string, vips: string[]) => ({
  params: instanceDefaults({ name, vrid, ownIp: "198.18.0.1", ifname, vips }),
  tracking: [],
  unicastPeers: [],
});

const build = (spec: NodeSpec, ports: EffectPorts, clock = new VirtualClock()) => {
  const journal = new MemoryJournal();
  const wire = wireOf(clock);
  const outs: Array<{ atUs: number; input: Input; out: Output }> = [];
  const events: Event[] = [];
  const node = new Node(spec, {
    clock,
    ports,
    journal,
    transport: wire.transport,
    configHash: "t",
    vigilVersion: "t",
    onApplied: (ev, o) => {
      events.push(ev);
      for (const out of o) outs.push({ atUs: ev.atUs, input: ev.input, out });
    },
  });
  /** Advances virtual time in 100 ms steps, letting promise callbacks run between them. */
  const run = async (untilUs: number) => {
    while (clock.nowUs() < untilUs) {
      clock.advanceTo(Math.min(untilUs, clock.nowUs() + 100_000));
      await flush();
    }
  };
  const effects = () => events.map((e) => e.input).filter((i): i is EffectInput => i.kind === "effect");
  const advertsOn = (ifname: string, fromUs: number, toUs: number) =>
    wire.sent.filter((s) => s.out.ifname === ifname && s.atUs >= fromUs && s.atUs < toUs).length;
  return { clock, journal, wire, node, outs, events, run, effects, advertsOn };
};

const verify = (text: string) => {
  const parsed = parseJournal(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const r = replayJournal(parsed.header, parsed.lines);
  return { mismatches: r.mismatches, same: r.journal.text() === text };
};

const peerAdvert = (priority: number): Input => ({
  kind: "rx",
  family: 4,
  src: "198.18.0.2",
  dst: "224.0.0.18",
  ttl: 255,
  ifname: "eth0",
  hex: encodePeer(priority),
});

/** A v2 advert for VRID 1 (198.18.0.100, 1 s) from the peer 198.18.0.2. */
function encodePeer(priority: number): string {
  const bytes = encodeAdvert(
    { version: 2, vrid: 1, priority, advertIntervalCs: 100, addresses: ["198.18.0.100"] },
    4,
    { src: "198.18.0.2", dst: "224.0.0.18" },
  );
  return Buffer.from(bytes).toString("hex");
}

describe("issue 8: a vip.add that throws EPERM", () => {
  test("the instance stays MASTER with its advert timer, keeps advertising, the failure is journaled and replays", async () => {
    const clock0 = new VirtualClock();
    const ports = new FaultyPorts(() => clock0.nowUs(), { "vip.add": "throw" }, "EPERM");
    const n = build(
      { instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"])], groups: [], trackers: [] },
      ports,
    );
    n.node.start();
    await n.run(12 * S);
    expect(n.node.state("VI_1")).toBe("MASTER");
    expect(n.node.timers().map((t) => t.key)).toContain("instance:VI_1 advert");
    // Takeover at 3.609375 s, then one advert per second on the wire.
    expect(n.advertsOn("eth0", 4 * S, 12 * S)).toBe(8);
    const failed = n.effects().filter((e) => !e.ok);
    expect(failed).toEqual([
      {
        kind: "effect",
        actor: "vip:eth0",
        cmd: 2,
        op: "addVips",
        instance: "VI_1",
        target: "eth0",
        ok: false,
        code: "EPERM",
        detail: "vip.add failed (test fault)",
      },
    ]);
    const lines = n.journal.lines;
    const at = lines.findIndex((l) => l.includes('"kind":"effect"') && l.includes('"ok":false'));
    expect(lines[at + 1]).toContain(
      "Netlink: error: Operation not permitted(1), type=RTM_NEWADDR(20) - (VI_1) vip.add failed (test fault)",
    );
    // Every `in` line has its outputs recorded; the journal replays byte for byte.
    const text = n.journal.text();
    expect(verify(text)).toEqual({ mismatches: [], same: true });
    const dir = tempDirForTest("vigil-effects-");
    writeFileSync(join(dir, "j.jsonl"), text);
    let err = "";
    const code = await replayCommand.run([join(dir, "j.jsonl"), "--verify"], {
      stdout: () => {},
      stderr: (t) => (err += t),
    });
    expect(code, err).toBe(0);
  });
});

describe("the severity of a failed effect's line, as keepalived logs it", () => {
  test("a notify script that cannot be executed is an error (LOG_ALERT); a refused VIP is info (LOG_INFO)", async () => {
    const clock0 = new VirtualClock();
    const ports = new FaultyPorts(() => clock0.nowUs(), { notify: "reject", "vip.add": "reject" }, "ENOENT");
    const n = build(
      { instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"])], groups: [], trackers: [] },
      ports,
    );
    n.node.start();
    await n.run(5 * S);
    const logs = n.outs.flatMap(({ out }) => (out.type === "log" ? [out] : []));
    const exec = logs.filter((l) => l.line.startsWith("Error exec-ing command for"));
    expect(exec.length).toBeGreaterThan(0);
    for (const l of exec) expect(l.severity).toBe("error");
    const netlink = logs.filter((l) => l.line.startsWith("Netlink: error:"));
    expect(netlink.length).toBe(1);
    expect(netlink[0]?.severity).toBeUndefined();
    // the log port is given the severity with the line
    const told = ports.records
      .filter((r) => r.port === "log")
      .map((r) => r.what as { line: string; severity?: string });
    expect(told.filter((r) => r.line.startsWith("Error exec-ing")).every((r) => r.severity === "error")).toBe(
      true,
    );
    expect(told.some((r) => r.line.startsWith("Error exec-ing"))).toBe(true);
    expect(verify(n.journal.text())).toEqual({ mismatches: [], same: true });
  });
});

/** VI_1 (VRID 1) on eth0 and VI_2 (VRID 2) on eth1, one VIP each. */
const twoInterfaces = (): NodeSpec => ({
  instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"]), instance("VI_2", 2, "eth1", ["198.18.1.100"])],
  groups: [],
  trackers: [],
});

const CALLS: Array<[PortCall, string]> = [
  ["vip.add", "addVips"],
  ["vip.remove", "removeVips"],
  ["arp.burst", "garp"],
  ["notify", "notify"],
  ["fifo", "fifo"],
  ["log", "log"],
];
const MODES: FaultMode[] = ["throw", "reject", "hang"];

describe.each(CALLS)("a failing %s port", (call, op) => {
  test.each(MODES)("%s: no instance stranded, failure journaled, replay verifies", async (mode) => {
    const clock0 = new VirtualClock();
    const ports = new FaultyPorts(() => clock0.nowUs(), { [call]: mode }, "EACCES");
    const spec = twoInterfaces();
    const n = build(spec, ports);
    n.node.start();
    await n.run(5 * S);
    expect(n.node.state("VI_1")).toBe("MASTER");
    // A higher-priority peer on eth0 takes VI_1 over (VIPs removed), then goes silent: VI_1 takes over again.
    n.node.input(peerAdvert(200));
    await n.run(30 * S);
    for (const name of ["VI_1", "VI_2"]) {
      expect(n.node.state(name)).toBe("MASTER");
      expect(n.node.timers().some((t) => t.key === `instance:${name} advert`)).toBe(true);
    }
    // Both keep advertising, one per second, during the second half of the run.
    expect(n.advertsOn("eth0", 20 * S, 30 * S)).toBe(10);
    expect(n.advertsOn("eth1", 20 * S, 30 * S)).toBe(10);
    const failed = n.effects().filter((e) => !e.ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((e) => e.op))).toEqual(new Set([op]));
    // The log port is synchronous: it cannot hang, so the fake throws instead.
    const code = mode === "hang" && call !== "log" ? "TIMEOUT" : "EACCES";
    expect(new Set(failed.map((e) => e.code))).toEqual(new Set([code]));
    if (call !== "log")
      expect(n.outs.some((o) => o.input.kind === "effect" && o.out.type === "log")).toBe(true);
    n.node.close();
    expect(verify(n.journal.text())).toEqual({ mismatches: [], same: true });
  });
});

describe("mailboxes", () => {
  test("a hung VIP port on eth0 delays neither adverts nor eth1's GARPs nor notifies; eth0's GARP follows the add's TIMEOUT", async () => {
    const clock = new VirtualClock();
    const rec = new RecordingPorts(() => clock.nowUs());
    const ports: EffectPorts = {
      ...rec,
      vip: {
        add: (a) => (a.some((v) => v.dev === "eth0") ? new Promise(() => {}) : rec.vip.add(a)),
        remove: (a) => rec.vip.remove(a),
      },
    };
    const spec = twoInterfaces();
    const n = build(spec, ports, clock);
    n.node.start();
    await n.run(4 * S);
    const takeover = 3_609_375;
    const garps = rec.records.filter((r) => r.port === "arp");
    expect(garps.map((r) => [r.atUs, r.what.ifname])).toEqual([[takeover, "eth1"]]);
    expect(
      rec.records.filter((r) => r.port === "notify" && r.what.state === "MASTER").map((r) => r.atUs),
    ).toEqual([takeover, takeover]);
    expect(n.advertsOn("eth0", takeover, 4 * S)).toBe(1);
    await n.run(takeover + EFFECT_TIMEOUT_US + S);
    // eth0's two bursts (at takeover and garp_master_delay later) both waited for the add's TIMEOUT
    // (the run loop lets promise callbacks run every 100 ms of virtual time)
    const eth0 = rec.records.filter((r) => r.port === "arp" && r.what.ifname === "eth0").map((r) => r.atUs);
    expect(eth0).toHaveLength(2);
    for (const atUs of eth0) {
      expect(atUs).toBeGreaterThanOrEqual(takeover + EFFECT_TIMEOUT_US);
      expect(atUs).toBeLessThanOrEqual(takeover + EFFECT_TIMEOUT_US + 100_000);
    }
    expect(
      n
        .effects()
        .filter((e) => e.op === "garp")
        .every((e) => e.ok),
    ).toBe(true);
  });

  test("closing releases a GARP waiting behind a VIP command that will never run: no timer is left", async () => {
    const clock = new VirtualClock();
    const rec = new RecordingPorts(() => clock.nowUs());
    const ports: EffectPorts = {
      ...rec,
      vip: { add: () => new Promise(() => {}), remove: () => new Promise(() => {}) },
    };
    const n = build(
      { instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"])], groups: [], trackers: [] },
      ports,
      clock,
    );
    n.node.start(); // removeVips at start hangs: the add at takeover is queued behind it, never run
    await n.run(4 * S);
    expect(rec.records.filter((r) => r.port === "arp")).toEqual([]);
    n.node.close();
    await flush();
    expect(rec.records.filter((r) => r.port === "arp")).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  test("a GARP goes out only once the VIP add before it on its interface has its outcome (keepalived's order)", async () => {
    const clock = new VirtualClock();
    const rec = new RecordingPorts(() => clock.nowUs());
    const order: string[] = [];
    const release: Array<(e?: unknown) => void> = [];
    const ports: EffectPorts = {
      ...rec,
      vip: {
        add: (a) =>
          new Promise<void>((resolve, reject) => {
            order.push(`add ${a.map((v) => v.address).join(",")}`);
            release.push((e) => {
              order.push("added");
              if (e === undefined) resolve();
              else reject(e);
            });
          }),
        remove: (a) => rec.vip.remove(a),
      },
      arp: {
        burst: (ifname, addresses, repeat, intervalUs) => {
          order.push(`garp ${ifname} ${addresses.join(",")}`);
          return rec.arp.burst(ifname, addresses, repeat, intervalUs);
        },
      },
    };
    const n = build(
      { instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"])], groups: [], trackers: [] },
      ports,
      clock,
    );
    n.node.start();
    await n.run(4 * S);
    // MASTER: the add was asked for, the GARP waits for its outcome
    expect(order).toEqual(["add 198.18.0.100"]);
    release.shift()?.();
    await flush();
    expect(order).toEqual(["add 198.18.0.100", "added", "garp eth0 198.18.0.100"]);
    // a failed add is an outcome too: keepalived announces anyway, after trying
    n.node.input(peerAdvert(200));
    await n.run(5 * S);
    n.node.input(peerAdvert(0));
    await n.run(7 * S);
    expect(order.slice(3)).toEqual(["add 198.18.0.100"]);
    release.shift()?.(Object.assign(new Error("no"), { code: "EPERM" }));
    await flush();
    expect(order.slice(3)).toEqual(["add 198.18.0.100", "added", "garp eth0 198.18.0.100"]);
  });

  test("virtual routes and rules are added only once the VIP add before them has its outcome", async () => {
    const clock = new VirtualClock();
    const rec = new RecordingPorts(() => clock.nowUs());
    const order: string[] = [];
    const release: Array<() => void> = [];
    const ports: EffectPorts = {
      ...rec,
      vip: {
        add: (a) =>
          new Promise<void>((resolve) => {
            order.push(`add ${a.map((v) => v.address).join(",")}`);
            release.push(() => {
              order.push("added");
              resolve();
            });
          }),
        remove: (a) => rec.vip.remove(a),
      },
      route: {
        add: (routes, rules) => {
          order.push(`routes ${[...routes, ...rules].map((r) => r.text).join(", ")}`);
          return rec.route.add(routes, rules);
        },
        remove: (routes, rules) => rec.route.remove(routes, rules),
      },
    };
    const vi = instance("VI_1", 1, "eth0", ["198.18.0.100"]);
    const text = "blackhole 198.19.0.0/24 proto 18 no_track";
    const n = build(
      {
        instances: [
          {
            ...vi,
            params: { ...vi.params, routes: [text] },
            routes: [
              routeOf({
                text,
                type: 6,
                typeGiven: true,
                dst: "198.19.0.0",
                via: null,
                dev: null,
                noTrack: true,
              }),
            ],
          },
        ],
        groups: [],
        trackers: [],
      },
      ports,
      clock,
    );
    n.node.start();
    await n.run(4 * S);
    expect(order).toEqual(["add 198.18.0.100"]);
    release.shift()?.();
    await flush();
    expect(order).toEqual(["add 198.18.0.100", "added", `routes ${text}`]);
  });

  test("commands of one actor run in order, one at a time: remove waits for a slow add", async () => {
    const clock = new VirtualClock();
    const rec = new RecordingPorts(() => clock.nowUs());
    const calls: string[] = [];
    let release: (() => void) | undefined;
    const ports: EffectPorts = {
      ...rec,
      vip: {
        add: () => {
          calls.push(`add@${clock.nowUs()}`);
          return new Promise<void>((r) => (release = r));
        },
        remove: () => {
          calls.push(`remove@${clock.nowUs()}`);
          return rec.vip.remove([]);
        },
      },
    };
    const n = build(
      { instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"])], groups: [], trackers: [] },
      ports,
      clock,
    );
    n.node.start();
    await n.run(5 * S);
    n.node.input(peerAdvert(200)); // → BACKUP: removeVips queued behind the pending add
    await n.run(6 * S);
    expect(calls).toEqual(["remove@0", "add@3609375"]);
    release?.();
    await flush();
    expect(calls).toEqual(["remove@0", "add@3609375", "remove@6000000"]);
    expect(
      n
        .effects()
        .filter((e) => e.actor === "vip:eth0")
        .map((e) => [e.cmd, e.op, e.ok]),
    ).toEqual([
      [1, "removeVips", true],
      [2, "addVips", true],
      [3, "removeVips", true],
    ]);
  });

  test("a throwing transport: the advert failure is journaled and logged, the next adverts still go", async () => {
    const clock = new VirtualClock();
    const journal = new MemoryJournal();
    let fail = true;
    const sent: number[] = [];
    const node = new Node(
      { instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"])], groups: [], trackers: [] },
      {
        clock,
        ports: new RecordingPorts(() => clock.nowUs()),
        journal,
        transport: {
          inbound$: new Subject<Datagram>(),
          close: () => {},
          send: () => {
            if (fail) {
              fail = false;
              throw Object.assign(new Error("sendmsg"), { code: "ENETUNREACH" });
            }
            sent.push(clock.nowUs());
          },
        },
      },
    );
    node.start();
    clock.advanceTo(8 * S);
    expect(node.state("VI_1")).toBe("MASTER");
    expect(sent.length).toBe(4);
    const text = journal.text();
    expect(text).toContain(
      '"actor":"advert:eth0","cmd":1,"op":"sendAdvert","instance":"VI_1","target":"224.0.0.18","ok":false,"code":"ENETUNREACH"',
    );
    expect(text).toContain("(VI_1): send advert error 101 (Network is unreachable)");
    expect(text.match(/"op":"sendAdvert"/g)?.length).toBe(1); // successes are not journaled
    expect(verify(text)).toEqual({ mismatches: [], same: true });
  });
});

describe("odd port behaviour is still caught", () => {
  test.each([
    [
      "throws undefined",
      () => {
        throw undefined;
      },
    ],
    ["rejects with null", () => Promise.reject(null)],
    ["returns a non-promise", () => 42 as unknown as Promise<void>],
    [
      "returns a thenable whose then throws",
      () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: a deliberately broken thenable
          then: () => {
            throw new Error("bad then");
          },
        }) as unknown as Promise<void>,
    ],
  ] as Array<[string, () => Promise<void>]>)("a VIP port that %s", async (_name, add) => {
    const clock = new VirtualClock();
    const rec = new RecordingPorts(() => clock.nowUs());
    const n = build(
      { instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"])], groups: [], trackers: [] },
      { ...rec, vip: { add, remove: (a) => rec.vip.remove(a) } },
      clock,
    );
    n.node.start();
    await n.run(6 * S);
    expect(n.node.state("VI_1")).toBe("MASTER");
    expect(n.advertsOn("eth0", 4 * S, 6 * S)).toBe(2);
    const adds = n.effects().filter((e) => e.op === "addVips");
    expect(adds).toHaveLength(1);
    expect(adds[0]?.ok).toBe(_name === "returns a non-promise");
    expect(verify(n.journal.text())).toEqual({ mismatches: [], same: true });
  });
});

describe("VIP options and GARP pacing reach the ports", () => {
  test("addVips carries every option and the excluded VIPs; bursts carry vrrp_garp_interval", async () => {
    const vip = (address: string, over: Partial<VipAddress> = {}): VipAddress => ({
      address,
      prefixLength: 24,
      family: 4,
      dev: "eth0",
      broadcast: "+",
      scope: "link",
      label: "eth0:vip",
      peer: null,
      preferredLft: "forever",
      noPrefixRoute: true,
      noDad: false,
      home: false,
      mngTmpAddr: false,
      autoJoin: false,
      noTrack: false,
      ...over,
    });
    const clock = new VirtualClock();
    const rec = new RecordingPorts(() => clock.nowUs());
    const spec: NodeSpec = {
      instances: [
        {
          ...instance("VI_1", 1, "eth0", ["198.18.0.100/24"]),
          vips: [vip("198.18.0.100")],
          excludedVips: [vip("198.18.9.9", { dev: "eth1", scope: "global", noTrack: true })],
          garpIntervalUs: 10_000,
          gnaIntervalUs: 20_000,
        },
      ],
      groups: [],
      trackers: [],
    };
    const n = build(spec, rec, clock);
    n.node.start();
    await n.run(4 * S);
    const adds = rec.records
      .filter((r) => r.port === "vip" && r.what.op === "add")
      .map((r) => r.what.addresses);
    expect(adds).toEqual([
      [vip("198.18.0.100")],
      [vip("198.18.9.9", { dev: "eth1", scope: "global", noTrack: true })],
    ]);
    expect(rec.records.filter((r) => r.port === "arp").map((r) => r.what)).toEqual([
      { ifname: "eth0", addresses: ["198.18.0.100"], repeat: 5, intervalUs: 10_000 },
      { ifname: "eth1", addresses: ["198.18.9.9"], repeat: 5, intervalUs: 10_000 },
    ]);
  });
});

describe("address watch: a VIP deleted under a MASTER (keepalived_netlink.c set_vrrp_backup)", () => {
  const deleted = (address: string, ifname = "eth0"): Extract<Input, { kind: "address" }> => ({
    kind: "address",
    ifname,
    address,
    prefixLength: 32,
    family: 4,
    present: false,
  });

  test("tracked: BACKUP at once (priority 0, VIPs removed, BACKUP notify), MASTER again after the skew time", async () => {
    const clock = new VirtualClock();
    const n = build(
      { instances: [instance("VI_1", 1, "eth0", ["198.18.0.100"])], groups: [], trackers: [] },
      new RecordingPorts(() => clock.nowUs()),
      clock,
    );
    n.node.start();
    await n.run(5 * S);
    n.node.input(deleted("198.18.0.100"));
    const at = n.clock.nowUs();
    const now = n.outs.filter((o) => o.atUs === at).map((o) => o.out);
    expect(now).toEqual([
      { type: "log", line: "Netlink reflector reports IP 198.18.0.100 removed from eth0", detail: true },
      { type: "state", actor: "instance:VI_1", from: "MASTER", to: "BACKUP" },
      { type: "log", line: "(VI_1) Entering BACKUP STATE" },
      { type: "sendAdvert", instance: "VI_1", priority: 0, advertIntervalCs: 100 },
      { type: "log", line: "(VI_1) sent 0 priority", detail: true },
      { type: "log", line: "(VI_1) removing VIPs.", detail: true },
      { type: "removeVips", instance: "VI_1", vips: ["198.18.0.100"] },
      { type: "notify", scope: "INSTANCE", name: "VI_1", state: "BACKUP", priority: 100 },
      { type: "fifo", line: 'INSTANCE "VI_1" BACKUP 100' },
    ]);
    await n.run(at + 609_375 - 1);
    expect(n.node.state("VI_1")).toBe("BACKUP");
    await n.run(at + 609_375);
    expect(n.node.state("VI_1")).toBe("MASTER");
    expect(verify(n.journal.text())).toEqual({ mismatches: [], same: true });
  });

  test("an address written non-canonically in the configuration matches the kernel's canonical form", async () => {
    const clock = new VirtualClock();
    const base = instance("VI_1", 1, "eth0", ["198.18.0.100"]);
    const spec: NodeSpec = {
      instances: [{ ...base, vips: [defaultVip("198.18.0.100"), defaultVip("2001:DB8:0:0::A/64")] }],
      groups: [],
      trackers: [],
    };
    const n = build(spec, new RecordingPorts(() => clock.nowUs()));
    n.node.start();
    await n.run(5 * S);
    expect(n.node.state("VI_1")).toBe("MASTER");
    n.node.input({ ...deleted("2001:db8::a"), family: 6, prefixLength: 64 });
    expect(n.node.state("VI_1")).toBe("BACKUP");
  });

  test("no_track, another interface, a BACKUP's address or an added address: nothing happens", async () => {
    const clock = new VirtualClock();
    const base = instance("VI_1", 1, "eth0", ["198.18.0.100", "198.18.0.101"]);
    const spec: NodeSpec = {
      instances: [
        {
          ...base,
          vips: [{ ...defaultVip("198.18.0.100"), noTrack: true }, defaultVip("198.18.0.101")],
        },
      ],
      groups: [],
      trackers: [],
    };
    const n = build(spec, new RecordingPorts(() => clock.nowUs()));
    n.node.input(deleted("198.18.0.101")); // INIT
    n.node.start();
    n.node.input(deleted("198.18.0.101")); // BACKUP
    await n.run(5 * S);
    n.node.input(deleted("198.18.0.100"));
    n.node.input(deleted("198.18.0.101", "eth1"));
    n.node.input({ ...deleted("198.18.0.101"), present: true });
    expect(n.node.state("VI_1")).toBe("MASTER");
    expect(n.events.filter((e) => e.input.kind === "address")).toHaveLength(5);
    n.node.input(deleted("198.18.0.101"));
    expect(n.node.state("VI_1")).toBe("BACKUP");
  });
});

const defaultVip = (a: string): VipAddress => defaultVipAddress(a, "eth0");
