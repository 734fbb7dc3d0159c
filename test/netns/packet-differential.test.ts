/**
 * Packet differential, keepalived 2.2.7 against Vigil: seeded mutants of valid adverts
 * (test/netns/support/packet-mutants.ts) sent one at a time to both daemons, and after each the
 * counters and states of both compared. Lab h1 runs keepalived, h2 `vigil run`, h3 sends (through
 * test/netns/support/datagram-pipe.ts). Each daemon has six instances, five at priority 254, all at
 * advert_int 3 (a 9 s down timer: a loaded machine's comparisons stay well inside it), with its own
 * VRIDs and VIPs (keepalived's 51 / 71 / 61 / 81 / 91 / 101, Vigil's 52 / 72 / 62 / 82 / 92 / 102):
 * - VI_1 VRRPv2 multicast, PASS authentication, two VIPs; VI_2 VRRPv3 multicast;
 * - VI_3 VRRPv2 unicast (`check_unicast_src`, peers h3 and .5 with min_ttl 250), in sync group G1
 *   with VI_1 (VRRPv2 members: a VRRPv3 member taking a master's interval of 0 makes keepalived
 *   spin until the other members want MASTER, its JSON dump held up that long; Vigil's side of that
 *   is test/runtime/parity-runtime.test.ts);
 * - VI_4 VRRPv3 IPv6 multicast, VI_5 VRRPv3 IPv6 unicast (peers h3 and fe80::5); VIPs in
 *   2001:2::/48, the IPv6 benchmarking range, on the lab bridge only. h3 sends IPv6 from
 *   fe80::ffff:ffff:ffff:fffe, above both daemons' link-local addresses, so that an equal priority
 *   is decided alike in both (the sender wins, as its .3 does over .1 and .2 in IPv4);
 * - VI_6 VRRPv2 multicast at priority 100 with `nopreempt` (BACKUP takes any master).
 * Each daemon's five instances at 254 start MASTER; VI_6 starts BACKUP and takes over 3 intervals
 * later.
 * The same mutant (same seed) goes to the same instance of each, with that daemon's VRID, VIPs and
 * address. After each: keepalived's JSON dump (SIGRTMIN+2) and Vigil's `GET /status`; every
 * counter's change and every state must be the same. Both daemons receive every datagram sent to
 * the group; a pair whose changed VRID byte names one of the other daemon's instances (seed 19 drew
 * Vigil's VI_2 flipped onto keepalived's VI_6) would feed the two different datagrams, and is left
 * out and listed.
 *
 * Two rounds, each of four edge cases per instance (the interval field at 0 and at its largest
 * from a higher priority, at 0 from a leaving master, at 1) and VIGIL_PKT_COUNT drawn mutants
 * (default 60, from VIGIL_PKT_SEED, default 1): first to MASTERs (where a mutant made the sender
 * master, it steps down with priority 0 and both take over again before the next), then to
 * BACKUPs (the sender is the master at 255 and says so again after each). The first edge case found
 * that Vigil, MASTER again at once (VRRPv3 takes the master's interval of 0), took the kernel's
 * report of its own VIP removal for someone else's and left MASTER a second time with a priority-0
 * advert; with VI_1 and VI_2 in a sync group, that Vigil's waiting member re-armed its down timer
 * at 0 for ever (keepalived spins there, logging a timeout each time). Vigil's journal replays with
 * `vigil replay --verify`. Needs root, netns, keepalived. Not pure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countersWithout } from "../support/counters.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type KeepalivedRun, Lab, waitFor } from "../support/lab.ts";
import {
  configText,
  instanceBlock,
  keepalivedJson,
  keepalivedPrivateTmp,
  sleepMs,
  startVigil,
  type Verified,
  type VigilRun,
  verifyJournal,
} from "./support/mixed-cluster.ts";
import {
  edgeAdvert,
  edgeAdverts,
  type PacketMutant,
  type PacketTarget,
  packetMutant,
} from "./support/packet-mutants.ts";
import { repoRoot, tsxCommand } from "./support/vigil.ts";

const suite = "netns: packet differential, keepalived 2.2.7 vs Vigil";
const COUNT = Number(process.env.VIGIL_PKT_COUNT ?? 60);
const SEED = Number(process.env.VIGIL_PKT_SEED ?? 1);
const COUNTERS = countersWithout("advert_sent", "pri_zero_sent");
/** After sending, before looking: both daemons have read what was sent. */
const SETTLE_MS = 60;
/** A difference after `SETTLE_MS` is looked at again this much later before it counts. */
const RELOOK_MS = 400;
const NAMES = ["VI_1", "VI_2", "VI_3", "VI_4", "VI_5", "VI_6"] as const;
type Name = (typeof NAMES)[number];
/** keepalived's JSON `state` numbers. */
const KA_STATE: Record<number, string> = { 0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT" };

interface Snapshot {
  readonly state: Record<string, string>;
  readonly stats: Record<string, Record<string, number>>;
}

interface Difference {
  readonly id: string;
  readonly instance: Name;
  readonly label: string;
  readonly keepalived: string;
  readonly vigil: string;
}

const delta = (a: Snapshot, b: Snapshot, name: string): string => {
  const parts: string[] = [];
  for (const k of COUNTERS) {
    const d = (b.stats[name]?.[k] ?? 0) - (a.stats[name]?.[k] ?? 0);
    if (d !== 0) parts.push(`${k}+${d}`);
  }
  return `${b.state[name]} ${parts.join(" ")}`.trim();
};

/** A child answering one line per line written (its stdout read line by line); `next` waits ≤ 15 s. */
function linePipe(
  child: ChildProcess,
  label: string,
): { write: (line: string) => void; next: () => Promise<string> } {
  const waiting: Array<(line: string) => void> = [];
  const early: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else early.push(line);
  });
  return {
    write: (line) => void child.stdin?.write(`${line}\n`),
    next: () =>
      new Promise((resolve, reject) => {
        const e = early.shift();
        if (e !== undefined) return resolve(e);
        const timer = setTimeout(() => reject(new Error(`${label} did not answer`)), 15_000);
        waiting.push((l) => {
          clearTimeout(timer);
          resolve(l);
        });
      }),
  };
}

/** Prints Vigil's `GET /status` as one line for each line it reads (one process for the whole run). */
const STATUS_READER = `require("node:readline").createInterface({ input: process.stdin }).on("line", async () => {
  try { const r = await fetch("http://127.0.0.1:9118/status"); process.stdout.write(JSON.stringify(await r.json()) + "\\n"); }
  catch (e) { process.stdout.write(JSON.stringify({ error: String(e) }) + "\\n"); }
});`;

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true }))(suite, () => {
  let lab: Lab;
  let keepalived: KeepalivedRun;
  let vigil: VigilRun;
  let sender: ChildProcess | undefined;
  let statusReader: ChildProcess | undefined;
  const differences: Difference[] = [];
  let compared = 0;
  /** Pairs left out because one daemon would have received the other's mutant (`crossTalk`). */
  const crossTalk: string[] = [];
  /** Each mutant's own instance: its changes in both, for the inspection dump. */
  const seen: string[] = [];
  let journals: Verified[] = [];

  beforeAll(
    async () => {
      lab = await Lab.create({ prefix: `vg${process.pid % 1000}pd`, hosts: 3 });
      const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
      const net = `198.18.${lab.subnet}`;
      // The sender's IPv6 source: a link-local address above any the kernel gives the daemons' interfaces
      // (from their random MACs), so that an equal priority is decided alike in both: the sender wins,
      // as h3's .3 does over .1 and .2 in IPv4.
      const ll3 = "fe80::ffff:ffff:ffff:fffe";
      await lab.nsRun(h3.ns, "ip", ["-6", "addr", "add", `${ll3}/64`, "dev", h3.ifname]);
      const [ll1, ll2] = [await lab.linkLocal(h1), await lab.linkLocal(h2)];
      const conf = (base: number, src: string, src6: string): string =>
        configText(
          `pd-${base}`,
          "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_3\n    }\n}",
          instanceBlock({
            name: "VI_1",
            state: "MASTER",
            vrid: base,
            prio: 254,
            advertInt: "3",
            version: 2,
            authPass: "secret",
            vips: [`${net}.${base}/24`, `${net}.${base + 100}/24`],
          }),
          instanceBlock({
            name: "VI_2",
            state: "MASTER",
            vrid: base + 20,
            prio: 254,
            advertInt: "3",
            version: 3,
            vips: [`${net}.${base + 20}/24`],
          }),
          instanceBlock({
            name: "VI_3",
            state: "MASTER",
            vrid: base + 10,
            prio: 254,
            advertInt: "3",
            version: 2,
            vips: [`${net}.${base + 10}/24`],
            unicast: { src, peers: [h3.ipv4, `${net}.5 min_ttl 250 max_ttl 255`] },
            extra: ["check_unicast_src"],
          }),
          instanceBlock({
            name: "VI_4",
            state: "MASTER",
            vrid: base + 30,
            prio: 254,
            advertInt: "3",
            version: 3,
            vips: [`2001:2::${base + 30}/64`],
          }),
          instanceBlock({
            name: "VI_5",
            state: "MASTER",
            vrid: base + 40,
            prio: 254,
            advertInt: "3",
            version: 3,
            vips: [`2001:2::${base + 40}/64`],
            unicast: { src: src6, peers: [ll3, "fe80::5"] },
            extra: ["check_unicast_src"],
          }),
          instanceBlock({
            name: "VI_6",
            vrid: base + 50,
            prio: 100,
            advertInt: "3",
            version: 2,
            nopreempt: true,
            vips: [`${net}.${base + 50}/24`],
          }),
        );
      keepalived = keepalivedPrivateTmp(lab, h1, conf(51, h1.ipv4, ll1), "keepalived");
      vigil = startVigil(lab, h2, conf(52, h2.ipv4, ll2), "vigil");
      const targets = (base: number, host: string, host6: string): Record<Name, PacketTarget> => {
        const common = {
          family: 4 as const,
          unusedVrid: 200,
          intervalCs: 300,
          host,
          others: [`${net}.5`, `${net}.9`],
        };
        const v6 = (vrid: number, unicast: boolean, others: string[]): PacketTarget => ({
          ...common,
          family: 6,
          version: 3,
          vrid,
          vips: [`2001:2::${vrid}`],
          host: host6,
          source: ll3,
          unicast,
          others,
        });
        return {
          VI_6: {
            ...common,
            version: 2,
            vrid: base + 50,
            vips: [`${net}.${base + 50}`],
            source: h3.ipv4,
            unicast: false,
          },
          VI_5: v6(base + 40, true, ["fe80::5", "fe80::9"]),
          VI_4: v6(base + 30, false, ["2001:2::9", "fe80::9"]),
          VI_1: {
            ...common,
            version: 2,
            vrid: base,
            vips: [`${net}.${base}`, `${net}.${base + 100}`],
            authPass: "secret",
            source: h3.ipv4,
            unicast: false,
          },
          VI_2: {
            ...common,
            version: 3,
            vrid: base + 20,
            vips: [`${net}.${base + 20}`],
            source: h3.ipv4,
            unicast: false,
          },
          VI_3: {
            ...common,
            version: 2,
            vrid: base + 10,
            vips: [`${net}.${base + 10}`],
            source: h3.ipv4,
            unicast: true,
          },
        };
      };
      const kaTargets = targets(51, h1.ipv4, ll1);
      const vgTargets = targets(52, h2.ipv4, ll2);

      const snapKeepalived = async (): Promise<Snapshot> => {
        const dump = await keepalivedJson(keepalived);
        const s: Snapshot = { state: {}, stats: {} };
        for (const i of dump) {
          const name = String(i.data.iname);
          s.state[name] = KA_STATE[Number(i.data.state)] ?? String(i.data.state);
          s.stats[name] = i.stats;
        }
        return s;
      };
      // Snapshots through long-lived processes, not a process per snapshot: this test runs beside
      // timing-sensitive ones.
      statusReader = spawn("ip", ["netns", "exec", h2.ns, process.execPath, "-e", STATUS_READER], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      const status = linePipe(statusReader, "the status reader");
      const snapVigil = async (): Promise<Snapshot> => {
        status.write("get");
        const doc = JSON.parse(await status.next()) as {
          instances: Array<{ name: string; state: string; stats: Record<string, number> }>;
        };
        const s: Snapshot = { state: {}, stats: {} };
        for (const i of doc.instances) {
          s.state[i.name] = i.state;
          s.stats[i.name] = i.stats;
        }
        return s;
      };
      try {
        for (const p of [keepalived.proc, vigil.proc])
          for (const n of NAMES)
            await p.waitForOutput(new RegExp(`\\(${n}\\) Entering MASTER STATE`), 30_000);
        sender = spawn(
          "ip",
          [
            "netns",
            "exec",
            h3.ns,
            ...tsxCommand,
            `${repoRoot}test/netns/support/datagram-pipe.ts`,
            h3.ifname,
          ],
          {
            stdio: ["pipe", "pipe", "inherit"],
          },
        );
        const pipe = linePipe(sender, "datagram-pipe");
        const nextLine = pipe.next;
        expect(await nextLine()).toBe("ready");
        const send = async (m: PacketMutant): Promise<void> => {
          pipe.write(
            JSON.stringify({ src: m.src, dst: m.dst, ttl: m.ttl, hex: m.hex, ipOptions: m.ipOptions }),
          );
          expect(await nextLine()).toMatch(/^sent /);
        };
        type Case = { id: string; name: Name; mk: PacketMutant; mv: PacketMutant };
        // A datagram to the group reaches both daemons, and each ignores the other's: their VRIDs
        // differ. A mutant whose VRID byte was changed (a flipped byte may land on any VRID) can carry
        // a VRID of the other daemon's, which then receives a mutant meant for its peer while its own
        // is different: such a pair feeds the two daemons different datagrams and is not compared.
        const vrids = (t: Record<Name, PacketTarget>, family: 4 | 6) =>
          new Set(NAMES.filter((n) => t[n].family === family).map((n) => t[n].vrid));
        const reachesOther = (m: PacketMutant, family: 4 | 6, other: Record<Name, PacketTarget>) =>
          (m.dst === "224.0.0.18" || m.dst === "ff02::12") &&
          m.hex.length >= 4 &&
          vrids(other, family).has(Number.parseInt(m.hex.slice(2, 4), 16));
        const isCrossTalk = ({ name, mk, mv }: Case): boolean =>
          reachesOther(mk, kaTargets[name].family, vgTargets) ||
          reachesOther(mv, vgTargets[name].family, kaTargets);
        const drawn = (phase: number): Case[] =>
          Array.from({ length: COUNT }, (_, i) => {
            const seed = SEED * 100_000 + phase * 10_000 + i;
            const name = NAMES[i % NAMES.length] as Name;
            return {
              id: String(seed),
              name,
              mk: packetMutant(seed, kaTargets[name]),
              mv: packetMutant(seed, vgTargets[name]),
            };
          });
        const edges: Case[] = NAMES.flatMap((name) => {
          const [ke, ve] = [edgeAdverts(kaTargets[name]), edgeAdverts(vgTargets[name])];
          return ke.map((mk, k) => ({ id: `edge ${k}`, name, mk, mv: ve[k] as PacketMutant }));
        });
        const inState = (want: string) => (s: Snapshot) => NAMES.every((n) => s.state[n] === want);
        const settled = (want: string): Promise<[Snapshot, Snapshot]> =>
          waitFor(
            `every instance of both daemons ${want}`,
            async () => {
              const pair: [Snapshot, Snapshot] = [await snapKeepalived(), await snapVigil()];
              return pair.every(inState(want)) ? pair : undefined;
            },
            20_000,
          );
        /** The sender as the master of every instance (priority 255), or stepping down (0) where it is. */
        const sendAll = async (priority: number, only?: (n: Name) => boolean): Promise<void> => {
          for (const n of NAMES)
            if (only === undefined || only(n)) {
              await send(edgeAdvert(kaTargets[n], priority));
              await send(edgeAdvert(vgTargets[n], priority));
            }
          // as after a case: both have read them before the next baseline is taken
          await sleepMs(SETTLE_MS);
        };
        /**
         * Sends each case to both and compares. `want`: the state every instance is in before each case
         * (MASTER: the daemons' own; BACKUP: the sender, at 255, is the master, and says so again before
         * each case, so no down timer runs out between cases).
         */
        const run = async (
          cases: readonly Case[],
          want: "MASTER" | "BACKUP",
          phase: string,
        ): Promise<void> => {
          let [ka, vg] = await settled(want);
          for (const c of cases) {
            const { id, name, mk, mv } = c;
            if (isCrossTalk(c)) {
              crossTalk.push(`${phase} ${id} ${name} [${mk.label}]`);
              continue;
            }
            await send(mk);
            await send(mv);
            await sleepMs(SETTLE_MS);
            let [ka2, vg2] = [await snapKeepalived(), await snapVigil()];
            // A case whose outcome runs a short timer (interval field 1 from a higher priority: back
            // to MASTER after about 40 ms) may catch the slower daemon in the middle of it on a
            // loaded machine; the comparison is of where both end, so a difference is looked at
            // again once, later (both snapshots again, in the same order).
            if (NAMES.some((n) => delta(ka, ka2, n) !== delta(vg, vg2, n))) {
              await sleepMs(RELOOK_MS);
              [ka2, vg2] = [await snapKeepalived(), await snapVigil()];
            }
            compared++;
            for (const n of NAMES) {
              const dk = delta(ka, ka2, n);
              const dv = delta(vg, vg2, n);
              if (n === name) seen.push(`${phase} ${id} ${n} [${mk.label}] keepalived: ${dk} | vigil: ${dv}`);
              if (dk !== dv)
                differences.push({
                  id: `${phase} ${id}`,
                  instance: n,
                  label: mk.label,
                  keepalived: dk,
                  vigil: dv,
                });
            }
            if (want === "MASTER") {
              if (inState(want)(ka2) && inState(want)(vg2)) [ka, vg] = [ka2, vg2];
              else {
                await sendAll(0, (n) => ka2.state[n] !== "MASTER" || vg2.state[n] !== "MASTER");
                [ka, vg] = await settled(want);
              }
            } else {
              await sendAll(255);
              [ka, vg] = await settled(want);
            }
          }
        };
        await run([...edges, ...drawn(0)], "MASTER", "master");
        await sendAll(255);
        await run([...edges, ...drawn(1)], "BACKUP", "backup");
        sender.stdin?.end();
        statusReader.stdin?.end();
        await vigil.proc.stop("SIGTERM", 10_000);
        await keepalived.proc.stop("SIGTERM", 10_000);
      } finally {
        for (const c of [sender, statusReader])
          if (c?.pid !== undefined && c.exitCode === null) c.kill("SIGKILL");
        dumpForInspection("packet-differential-keepalived.txt", keepalived.proc.output);
        dumpForInspection("packet-differential-vigil.txt", vigil.proc.output);
        dumpForInspection("packet-differential-mutants.txt", `${seen.join("\n")}\n`);
      }
      journals = await verifyJournal(vigil);
    },
    60_000 + COUNT * 2_000,
  );

  afterAll(async () => {
    await lab?.destroy();
  });

  it(`every mutant (4 edge cases per instance and ${COUNT} from seed ${SEED}, to MASTERs and to BACKUPs) changes the same counters and states in both`, () => {
    if (crossTalk.length > 0) console.log(`not compared (cross-talk): ${crossTalk.join("; ")}`);
    expect(compared + crossTalk.length).toBe(2 * (COUNT + 4 * NAMES.length));
    expect(crossTalk.length).toBeLessThan(1 + COUNT / 20);
    expect(differences).toEqual([]);
  });

  it("Vigil's journal replays with vigil replay --verify", () => {
    expect(journals.length).toBeGreaterThanOrEqual(1);
    for (const j of journals) {
      expect(j.stderr, j.segment).toContain("verify ok");
      expect(j.code, j.stderr).toBe(0);
    }
  });
});
