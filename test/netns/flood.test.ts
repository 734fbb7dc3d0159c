/**
 * A bad-input flood at a Vigil master (issue 11). Lab h1 runs `vigil run` as MASTER of two
 * instances (VI_1: VRRPv2 with PASS authentication, 1 s adverts; VI_2: VRRPv3, 50 ms adverts, so
 * that the flood's window holds about 240 gaps and their p99 is a p99, not the maximum: with 100 or
 * fewer, the nearest-rank p99 is the largest gap);
 * h3, the attacker, sends bogus adverts to the VRRP group for FLOOD_MS at up to RATE_PER_S packets
 * per second (test/netns/support/flood-sender.ts: wrong password, TTL 64, bad checksum, truncated,
 * unknown VRID, all at priority 254); h2 observes with tcpdump, filtered on h1's adverts.
 *
 * The daemon and the attacker run at SCHED_RR priority 10 (as contrib/vigil.service runs the
 * daemon, like keepalived's vrrp_rt_priority): the lab host is shared, and at normal priority its
 * other work — not the flood — dominated the timing (p99 12 ms with no flood at all at load 15).
 *
 * Checked: the master's adverts during the flood keep their interval (the p99 of |gap − interval|
 * over both instances ≤ 10 ms, from the capture's kernel timestamps at h2 and, to tell the
 * daemon's lateness from the network's, at h1's own egress; a window of the same length before
 * the flood is printed for comparison); no transition (no state line
 * in the daemon log or state output in the journal after MASTER); the rejects are counted as
 * keepalived 2.2.7 counts them — the journal, replayed through a fresh node, gives VI_1's
 * `auth_failure` and `ip_ttl_err` and VI_2's `ip_ttl_err`, no `advert_rcvd`, and no
 * `packet_len_err` for the 6-byte truncated adverts (shorter than a VRRP header: keepalived finds no
 * instance for them), and the recorded inputs hold the truncated, bad-checksum and unknown-VRID
 * datagrams. keepalived itself would fall silent under this flood (every datagram read for the VRID
 * re-arms its MASTER's advert timer); Vigil keeps its interval on purpose (README, "Where Vigil
 * differs from keepalived on purpose"). The achieved send rate and the jitter are printed (the
 * sender may not reach 50,000/s on a small machine; the test needs at least MIN_RATE_PER_S).
 * Needs root, netns, tcpdump (skipUnlessLab). Not pure.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { readJournal, segmentPath } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import type { InstanceStats } from "../../src/runtime/stats.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess } from "../support/lab.ts";
import { parseTcpdumpVrrp } from "./support/differential.ts";
import { repoRoot, tsxCommand, vigilBin, vigilRunArgs } from "./support/vigil.ts";

const suite = "netns: a flood of bogus adverts at a Vigil master";
const RATE_PER_S = 50_000;
/**
 * 12 s: with VI_2 at 50 ms the window holds about 240 gaps, so their p99 (nearest rank) is the third
 * largest, not the maximum: one stall of the shared lab host (a test beside it) is not the p99.
 */
const FLOOD_MS = 12_000;
/** Below this the run does not test much: fail rather than pass on a trickle. */
const MIN_RATE_PER_S = 10_000;
const P99_JITTER_LIMIT_US = 10_000;
/** VI_2's advert interval (advert_int 0.05). */
const VI_2_INTERVAL_US = 50_000;
/** SCHED_RR priority of the daemon and the attacker (see the module comment). */
const RT_PRIORITY = 10;

interface FloodReport {
  readonly total: number;
  readonly errors: number;
  readonly firstError: string;
  readonly seconds: number;
  readonly ratePerS: number;
  readonly sent: Readonly<Record<string, number>>;
}

interface Gaps {
  readonly v2: readonly number[];
  readonly v3: readonly number[];
}

/** Gaps between h1's adverts (priority 200) captured by tcpdump -tt between two times, per instance. */
const gapsOf = (capture: string, fromUs: number, toUs: number): Gaps => {
  const packets = parseTcpdumpVrrp(capture).filter(
    (p) => p.atUs >= fromUs && p.atUs <= toUs && p.prio === 200,
  );
  const gaps = (vrid: number): number[] => {
    const ts = packets.filter((p) => p.vrid === vrid).map((p) => p.atUs);
    return ts.slice(1).map((t, k) => t - (ts[k] as number));
  };
  return { v2: gaps(51), v3: gaps(52) };
};

/** |gap − interval| for VI_1 (1 s) and VI_2 (50 ms). */
const jitterOf = (g: Gaps): number[] => [
  ...g.v2.map((x) => Math.abs(x - 1_000_000)),
  ...g.v3.map((x) => Math.abs(x - VI_2_INTERVAL_US)),
];

const p99 = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)] ?? Number.POSITIVE_INFINITY;
};

/** Replays a journal segment that starts from a fresh node; the node's counters at its end. */
function countersFromJournal(file: string): {
  stats: Map<string, InstanceStats>;
  rxVrids: Map<number, number>;
  /** Received datagrams shorter than a VRRP header (8 bytes). */
  short: number;
} {
  const parsed = readJournal(readFileSync(file, "utf8"));
  if (!parsed.ok) throw new Error(`${file}:${parsed.error.line}: ${parsed.error.message}`);
  if (parsed.checkpoint !== undefined) throw new Error(`${file} starts from a checkpoint`);
  const clock = new VirtualClock();
  const node = new Node(parsed.header.spec as NodeSpec, {
    clock,
    ports: nullPorts(),
    timerSource: "journal",
    configHash: parsed.header.configHash,
    vigilVersion: parsed.header.vigil,
  });
  const rxVrids = new Map<number, number>();
  let short = 0;
  for (const l of parsed.lines) {
    if (l.t !== "in") continue;
    clock.advanceTo(Math.max(clock.nowUs(), l.ev.atUs));
    const i = l.ev.input;
    if (i.kind === "rx" && i.hex.length >= 4) {
      const vrid = Number.parseInt(i.hex.slice(2, 4), 16);
      rxVrids.set(vrid, (rxVrids.get(vrid) ?? 0) + 1);
    }
    if (i.kind === "rx" && i.hex.length < 16) short++;
    node.applyRecorded(l.ev);
  }
  const stats = new Map<string, InstanceStats>();
  for (const name of ["VI_1", "VI_2"]) {
    const s = node.stats(name);
    if (s !== undefined) stats.set(name, { ...s });
  }
  return { stats, rxVrids, short };
}

describe.skipIf(skipUnlessLab(suite, { netns: true, tcpdump: true }))(suite, () => {
  let lab: Lab;
  let vigil: LabProcess;
  let report: FloodReport;
  /** Advert gaps during the flood: at the observer (h2) and as h1 sent them (its own eth0). */
  let observed: Gaps = { v2: [], v3: [] };
  let sent: Gaps = { v2: [], v3: [] };
  let baseline: Gaps = { v2: [], v3: [] };
  let journalDir = "";
  let masterLogAt = 0;

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}fl`, hosts: 3 });
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    const net = `198.18.${lab.subnet}`;
    const dir = lab.tempDir();
    journalDir = join(dir, "journal");
    const conf = join(dir, "keepalived.conf");
    writeFileSync(
      conf,
      [
        "vrrp_instance VI_1 {",
        "    interface eth0",
        "    virtual_router_id 51",
        "    priority 200",
        "    advert_int 1",
        "    authentication {",
        "        auth_type PASS",
        "        auth_pass s3cret",
        "    }",
        `    virtual_ipaddress { ${net}.51/24 }`,
        "}",
        "vrrp_instance VI_2 {",
        "    interface eth0",
        "    version 3",
        "    virtual_router_id 52",
        "    priority 200",
        "    advert_int 0.05",
        `    virtual_ipaddress { ${net}.52/24 }`,
        "}",
        "",
      ].join("\n"),
    );
    // SCHED_RR (keepalived's vrrp_rt_priority; CPUSchedulingPolicy=rr in contrib/vigil.service):
    // the lab host runs other work, which would otherwise be measured instead of the flood
    vigil = lab.spawn(
      h1.ns,
      "chrt",
      [
        "--rr",
        String(RT_PRIORITY),
        process.execPath,
        ...vigilRunArgs({ config: conf, journalDir, pidFile: join(dir, "vigil.pid") }),
      ],
      { label: "vigil run (flooded)" },
    );
    await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
    await vigil.waitForOutput(/\(VI_2\) Entering MASTER STATE/, 20_000);
    masterLogAt = vigil.output.length;
    const filter = `ip proto 112 and src host ${h1.ipv4}`;
    const wire = await lab.tcpdump(h2, ["-tt"], filter);
    const egress = await lab.tcpdump(h1, ["-tt", "-Q", "out"], filter);
    const baselineStartUs = Date.now() * 1000;
    await new Promise((r) => setTimeout(r, FLOOD_MS));
    const baselineEndUs = Date.now() * 1000;
    // the attacker at the same real-time priority, so the host's other work does not thin the flood
    const flood = lab.spawn(
      h3.ns,
      "chrt",
      [
        "--rr",
        String(RT_PRIORITY),
        ...tsxCommand,
        `${repoRoot}test/netns/support/flood-sender.ts`,
        JSON.stringify({
          ifname: "eth0",
          src: h3.ipv4,
          v2: { vrid: 51, pass: "s3cret", vip: `${net}.51` },
          v3: { vrid: 52, vip: `${net}.52` },
          ratePerS: RATE_PER_S,
          durationMs: FLOOD_MS,
        }),
      ],
      { label: "flood-sender@h3" },
    );
    await flood.waitForOutput(/"ready":true/, 20_000);
    const floodStartUs = Date.now() * 1000;
    await flood.waitForOutput(/"flood":true/, FLOOD_MS + 20_000);
    const floodEndUs = Date.now() * 1000;
    report = JSON.parse(
      flood.stdout.split("\n").find((l) => l.includes('"flood":true')) ?? "{}",
    ) as FloodReport;
    await new Promise((r) => setTimeout(r, 1500));
    await wire.stop();
    await egress.stop();
    await vigil.stop("SIGTERM", 15_000);
    observed = gapsOf(wire.stdout, floodStartUs, floodEndUs);
    sent = gapsOf(egress.stdout, floodStartUs, floodEndUs);
    baseline = gapsOf(wire.stdout, baselineStartUs, baselineEndUs);
    dumpForInspection("flood-vigil", vigil.output);
    dumpForInspection("flood-wire", wire.stdout);
    dumpForInspection("flood-egress", egress.stdout);
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("the attacker reached a real flood rate (the achieved rate is printed)", () => {
    console.log(
      `[flood] sent ${report.total} bogus adverts in ${report.seconds.toFixed(2)} s = ${report.ratePerS}/s (target ${RATE_PER_S}/s), ${report.errors} send errors; per kind ${JSON.stringify(report.sent)}`,
    );
    expect(report.errors, report.firstError).toBe(0);
    expect(report.ratePerS).toBeGreaterThanOrEqual(MIN_RATE_PER_S);
  });

  it("the master's adverts keep their interval during the flood (p99 jitter ≤ 10 ms)", () => {
    const show = (what: string, g: Gaps): void => {
      const j = jitterOf(g);
      console.log(
        `[flood] ${what}: ${g.v2.length} v2 + ${g.v3.length} v3 advert gaps; jitter p99 ${p99(j)} µs, max ${Math.max(...j)} µs`,
      );
    };
    show("before the flood, at the observer", baseline);
    show("during the flood, as sent by h1", sent);
    show("during the flood, at the observer", observed);
    expect(observed.v2.length).toBeGreaterThanOrEqual(Math.floor(FLOOD_MS / 1000) - 2);
    expect(observed.v3.length).toBeGreaterThanOrEqual(Math.floor((FLOOD_MS * 1000) / VI_2_INTERVAL_US) - 10);
    expect(observed.v2.length + observed.v3.length).toBeGreaterThan(100); // a p99, not the maximum
    expect(p99(jitterOf(sent))).toBeLessThanOrEqual(P99_JITTER_LIMIT_US);
    expect(p99(jitterOf(observed))).toBeLessThanOrEqual(P99_JITTER_LIMIT_US);
  });

  it("no transition: no state line after MASTER, none in the journal", () => {
    const after = vigil.output.slice(masterLogAt);
    expect(after).not.toMatch(/Entering (BACKUP|FAULT) STATE|Entering MASTER STATE/);
    expect(vigil.code).toBe(0);
    const segment = readJournal(readFileSync(segmentPath(join(journalDir, "journal.jsonl"), 1), "utf8"));
    expect(segment.ok).toBe(true);
    if (!segment.ok) return;
    const states = segment.lines.flatMap((l) =>
      l.t === "out" ? l.out.filter((o) => (o as { type?: string }).type === "state") : [],
    );
    // INIT → BACKUP → MASTER per instance, then the stop at SIGTERM; nothing in between
    const tos = states.map((s) => `${(s as { actor: string }).actor}:${(s as { to: string }).to}`);
    const masterAt = Math.max(tos.indexOf("instance:VI_1:MASTER"), tos.indexOf("instance:VI_2:MASTER"));
    expect(masterAt, tos.join(" ")).toBeGreaterThanOrEqual(0);
    expect(
      tos.slice(masterAt + 1).filter((t) => !/:(STOP|INIT)$/.test(t)),
      tos.join(" "),
    ).toEqual([]);
  });

  it("the journal, replayed, counts the rejects", () => {
    const { stats, rxVrids, short } = countersFromJournal(segmentPath(join(journalDir, "journal.jsonl"), 1));
    const v1 = stats.get("VI_1");
    const v2 = stats.get("VI_2");
    console.log(
      `[flood] journal counters VI_1 ${JSON.stringify(v1)} VI_2 ${JSON.stringify(v2)}; rx by VRID ${JSON.stringify([...rxVrids])}`,
    );
    expect(v1?.auth_failure).toBeGreaterThan(0);
    expect(v1?.ip_ttl_err).toBeGreaterThan(0);
    expect(v2?.ip_ttl_err).toBeGreaterThan(0);
    // keepalived's counting: no instance for a datagram shorter than a VRRP header, none accepted
    expect(short).toBeGreaterThan(0);
    expect([v1?.packet_len_err, v2?.packet_len_err, v1?.advert_rcvd, v2?.advert_rcvd]).toEqual([0, 0, 0, 0]);
    expect(v1?.become_master).toBe(1);
    expect(v2?.become_master).toBe(1);
    // the SIGTERM shutdown releases no MASTER in keepalived's count (vrrp_state_leave_master only)
    expect([v1?.release_master, v2?.release_master]).toEqual([0, 0]);
    expect(rxVrids.get(151) ?? 0).toBeGreaterThan(0);
    // the rejects reached the node in the order sent: most of the flood went through the journal
    const received = [...rxVrids.values()].reduce((a, b) => a + b, 0);
    console.log(`[flood] ${received} datagrams journaled of ${report.total} sent`);
    expect(received).toBeGreaterThan(report.total / 10);
  });

  // stdout (the timeline of ~250,000 events) is discarded: only the verdict on stderr matters
  it("the journal replays with vigil replay --verify", async () => {
    const journal = join(journalDir, "journal.jsonl");
    let checked = 0;
    for (let n = 1; existsSync(segmentPath(journal, n)); n++, checked++) {
      const child = spawn(process.execPath, [vigilBin, "replay", "--verify", segmentPath(journal, n)], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      const code = await new Promise<number | null>((r) => child.on("close", r));
      expect(stderr, segmentPath(journal, n)).toContain("verify ok");
      expect(code, stderr).toBe(0);
    }
    expect(checked).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
