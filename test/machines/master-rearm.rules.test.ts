/**
 * When a received datagram re-arms a MASTER's advert timer — the guard of a deliberate difference
 * from keepalived 2.2.7 (docs/keepalived-reference.md §3.2). keepalived re-arms it (now + advert_int)
 * after every datagram it reads for the VRID, also one its checks drop (vrrp_scheduler.c
 * `vrrp_dispatcher_read`), so anyone on the LAN can silence a MASTER with junk for its VRID. Vigil:
 * a datagram that fails a receive check, and a v2 advert interval mismatch, never touch an
 * instance's timers; valid adverts that leave it MASTER (priority 0, lower priority, equal priority
 * from our own address) re-arm it as keepalived does, unless lower_prio_no_advert. A BACKUP's down
 * timer is left by dropped datagrams, as before. Each datagram is fed as real bytes (`rx` input)
 * through the Node on the virtual clock, so the codec adapter's routing and checks are exercised too.
 */
import { describe, expect, test } from "vitest";
import type { InstanceParams } from "../../machines/events.ts";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { parseJournal } from "../../src/runtime/journal.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import {
  bytes,
  DROPPED,
  type Extra,
  fields,
  flipSum,
  hex,
  OWN,
  PEER,
  type Rx,
  rx,
} from "./dropped-datagrams.ts";
import { Harness, S } from "./harness.ts";

/** A priority-100 v2 instance with advert_int 1 s becomes MASTER 3 + 156/256 s after start. */
const MASTER_AT = 3_609_375;
const DROP_AT = 4 * S;

const master = (over: Partial<InstanceParams> = {}, extra: Extra = {}): Harness => {
  const h = Harness.single({ basePriority: 100, ...over }, extra).start();
  h.at(DROP_AT);
  expect(h.states()).toEqual([
    [0, "BACKUP"],
    [MASTER_AT, "MASTER"],
  ]);
  return h;
};
const advertTimes = (h: Harness): number[] => h.of("sendAdvert").map((t) => t.atUs);
/** The MASTER's own adverts on its one-second grid from becoming MASTER, up to `untilUs`. */
const grid = (untilUs: number): number[] => {
  const out: number[] = [];
  for (let t = MASTER_AT; t <= untilUs; t += S) out.push(t);
  return out;
};
/** Feeds `input` every `everyUs` from DROP_AT until `untilUs`. */
const flood = (h: Harness, input: Rx, everyUs: number, untilUs: number): void => {
  for (let t = DROP_AT; t < untilUs; t += everyUs) h.at(t).node.input(input);
};

describe("a datagram a receive check drops never moves a MASTER's adverts", () => {
  test.each(DROPPED)("dropped by $kind: one at 4 s, then every 70 ms for 6 s", ({ extra, input }) => {
    const h = master({}, extra);
    h.node.input(input);
    flood(h, input, 70_000, 10 * S);
    h.at(12 * S);
    expect(advertTimes(h)).toEqual(grid(12 * S));
    expect(h.node.state("VI_1")).toBe("MASTER");
    expect(h.states()).toHaveLength(2);
  });

  test.each(DROPPED)("lower_prio_no_advert, dropped by $kind: the same", ({ extra, input }) => {
    const h = master({ lowerPrioNoAdvert: true }, extra);
    flood(h, input, 70_000, 10 * S);
    h.at(12 * S);
    expect(advertTimes(h)).toEqual(grid(12 * S));
  });

  test("every kind interleaved, 1 ms apart for 5 s: the adverts stay on their grid", () => {
    const plain = DROPPED.filter((c) => c.extra === undefined);
    const h = master();
    for (let k = 0, t = DROP_AT; t < 9 * S; t += 1_000, k++)
      h.at(t).node.input((plain[k % plain.length] as (typeof plain)[number]).input);
    h.at(10 * S);
    expect(advertTimes(h)).toEqual(grid(10 * S));
    expect(h.node.stats("VI_1")?.packet_len_err).toBeGreaterThan(1000);
  });

  test("a v2 interval mismatch is logged, leaves the timer, and never makes the MASTER yield", () => {
    for (const lowerPrioNoAdvert of [false, true]) {
      const h = master({ lowerPrioNoAdvert });
      // at a higher priority too: it is dropped, not an election
      h.node.input(rx(bytes({ advertIntervalCs: 300, priority: 200 })));
      h.at(DROP_AT + 500_000).node.input(rx(bytes({ advertIntervalCs: 300, priority: 0 })));
      h.at(7 * S);
      expect(h.lines()).toContain("(VI_1) advertisement interval mismatch mine=1 sec rcv'd=3 sec");
      expect(advertTimes(h)).toEqual(grid(7 * S));
      expect(h.node.state("VI_1")).toBe("MASTER");
    }
  });
});

describe("valid adverts that leave a MASTER as it is re-arm it (keepalived's vrrp_dispatcher_read)", () => {
  test.each([
    { what: "priority 0 (answered at once)", src: PEER, prio: 0, first: [DROP_AT, DROP_AT + S] },
    { what: "lower priority (answered at once)", src: PEER, prio: 50, first: [DROP_AT, DROP_AT + S] },
    { what: "equal priority from our own address", src: OWN, prio: 100, first: [DROP_AT + S] },
  ])("$what: re-armed after it", ({ src, prio, first }) => {
    const h = master();
    h.node.input(rx(bytes({ priority: prio }), { src }));
    h.at(5 * S + 100_000);
    expect(advertTimes(h)).toEqual([MASTER_AT, ...first]);
  });

  test("valid lower-priority adverts every 0.7 s hold a MASTER's own adverts back (answered each time)", () => {
    const h = master();
    flood(h, rx(bytes({ priority: 50 })), 700_000, 6 * S);
    h.at(8 * S);
    const answers = [4_000_000, 4_700_000, 5_400_000];
    expect(advertTimes(h)).toEqual([MASTER_AT, ...answers, 6_400_000, 7_400_000]);
  });

  test("a valid advert after a flood of dropped ones still re-arms", () => {
    const h = master();
    flood(h, rx(bytes(), { ttl: 64 }), 50_000, 5 * S);
    h.at(5_200_000).node.input(rx(bytes({ priority: 100 }), { src: OWN }));
    h.at(7 * S);
    expect(advertTimes(h)).toEqual([MASTER_AT, MASTER_AT + S, 6_200_000]);
  });

  test.each([
    { what: "priority 0 (still answered at once)", src: PEER, prio: 0, at: [DROP_AT] },
    { what: "lower priority (not answered)", src: PEER, prio: 50, at: [] },
    { what: "equal priority from our own address", src: OWN, prio: 100, at: [] },
  ])("lower_prio_no_advert, $what: the timer is left", ({ src, prio, at }) => {
    const h = master({ lowerPrioNoAdvert: true });
    h.node.input(rx(bytes({ priority: prio }), { src }));
    h.at(5 * S + 100_000);
    expect(advertTimes(h)).toEqual([MASTER_AT, ...at, MASTER_AT + S]);
  });

  test("equal priority from our own address logs keepalived's warning", () => {
    const h = master();
    h.node.input(rx(bytes({ priority: 100 }), { src: OWN }));
    expect(h.lines()).toContain(
      "(VI_1) WARNING - equal priority advert received from remote host with our IP address.",
    );
  });
});

describe("datagrams keepalived never hands to the instance leave it too", () => {
  test.each([
    { what: "shorter than a VRRP header", input: rx(bytes().slice(0, 6)) },
    { what: "an unknown VRID", input: rx(bytes({ vrid: 2 })) },
  ])("$what", ({ input }) => {
    const h = master();
    flood(h, input, 70_000, 6 * S);
    h.at(7 * S - 100_000);
    expect(advertTimes(h)).toEqual(grid(7 * S));
  });

  const V6: Partial<InstanceParams> = { family: 6, version: 3, ownIp: "fe80::1", vips: ["2001:db8::100"] };
  const v6 = (dst: string, patch?: (b: Uint8Array) => void): Rx => {
    const b = encodeAdvert(fields({ version: 3, addresses: ["2001:db8::100"] }), 6, { src: "fe80::2", dst });
    patch?.(b);
    return { kind: "rx", family: 6, src: "fe80::2", dst, ttl: 255, ifname: "eth0", hex: hex(b) };
  };

  test.each([
    { what: "a unicast datagram to a multicast instance", input: v6("fe80::1", flipSum) },
    { what: "a multicast datagram the checks drop", input: v6("ff02::12", flipSum) },
    { what: "a multicast interval mismatch at 1 hop", input: { ...v6("ff02::12"), ttl: 1 } },
  ])("IPv6: $what", ({ input }) => {
    const h = master(V6);
    flood(h, input, 70_000, 6 * S);
    h.at(7 * S);
    expect(advertTimes(h)).toEqual(grid(7 * S));
  });
});

describe("a BACKUP's down timer is left by a dropped datagram", () => {
  // A valid advert at 1 s from priority 150: the down timer runs out at 1 s + 3.609375 s.
  const TAKEOVER = S + MASTER_AT;
  test.each(DROPPED)("dropped by $kind", ({ extra, input, valid }) => {
    const h = Harness.single({ basePriority: 100 }, extra).start();
    h.at(S).node.input(valid);
    for (let t = 2 * S; t < 6 * S; t += 100_000) h.at(t).node.input(input);
    h.at(6 * S);
    expect(h.states()).toEqual([
      [0, "BACKUP"],
      [TAKEOVER, "MASTER"],
    ]);
  });

  test("FAULT ignores them: leaving FAULT still waits a full down timer", () => {
    const base = Harness.single({ basePriority: 100 }).spec.instances[0] as NodeSpec["instances"][number];
    const h = new Harness({
      instances: [{ ...base, tracking: [{ tracker: "eth0", weight: 0, reverse: false }] }],
      groups: [],
      trackers: [{ name: "eth0", kind: "link", rise: 1, fall: 1, initFail: false }],
    }).start();
    h.at(DROP_AT).link("eth0", false);
    h.at(DROP_AT + 100_000).node.input(rx(bytes(), { ttl: 64 }));
    h.at(5 * S).link("eth0", true);
    h.at(10 * S);
    expect(h.states()).toEqual([
      [0, "BACKUP"],
      [MASTER_AT, "MASTER"],
      [DROP_AT, "FAULT"],
      [5 * S, "BACKUP"],
      [5 * S + MASTER_AT, "MASTER"],
    ]);
  });
});

describe("replay", () => {
  test("a journal with dropped datagrams replays to the same outputs, journal byte for byte", () => {
    const h = master();
    const drops = DROPPED.filter((c) => c.extra === undefined);
    for (const c of drops) h.at(h.clock.nowUs() + 300_000).node.input(c.input);
    h.at(h.clock.nowUs() + 300_000).node.input(rx(bytes({ priority: 0 })));
    const zeroUs = h.clock.nowUs();
    h.at(14 * S);
    const text = h.journal.text();
    const parsed = parseJournal(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = replayJournal(parsed.header, parsed.lines);
    expect(r.mismatches).toEqual([]);
    expect(r.timerFaults).toEqual([]);
    expect(r.journal.text()).toBe(text);
    // The drops leave the grid; the priority 0 advert at the end is answered and re-arms.
    expect(drops.length).toBeGreaterThanOrEqual(15);
    const answered: number[] = [];
    for (let t = zeroUs; t <= 14 * S; t += S) answered.push(t);
    expect(advertTimes(h)).toEqual([...grid(zeroUs), ...answered]);
  });
});
