/**
 * `static_ipaddress` on a real kernel, Vigil against keepalived 2.2.7 with the same configuration in
 * the same namespace (one after the other): five static addresses on two interfaces (a label, a /32
 * with a broadcast keepalived refuses, a `no_track` one, an IPv6 one) beside a BACKUP instance. For
 * each daemon: `ip addr` once they are installed; a tracked IPv4, the `no_track` and the IPv6 one
 * deleted with `ip addr del` (the tracked ones come back at once, with keepalived's `Restoring
 * deleted static address` line, the `no_track` one does not); the data dump's `Static Addresses`
 * section; `ip addr` after a SIGHUP with one address dropped and one added, and after SIGTERM (none
 * left); no state change on the reload, by either. Vigil's journal replayed. ~20 s.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type LabProcess, waitFor } from "../support/lab.ts";
import {
  configText,
  countLines,
  instanceBlock,
  keepalivedPrivateTmp,
  startVigil,
  type Verified,
  verifyJournal,
} from "./support/mixed-cluster.ts";
import { entering, expectJournalsVerified, withLabs } from "./support/mixed-cluster-suite.ts";

const suite = "netns: static_ipaddress, Vigil against keepalived 2.2.7";

interface Side {
  /** `ip -o addr show` of the static addresses after a SIGHUP with .51 dropped and .54 added. */
  reloaded: string[];
  /** `ip -o addr show` of the static addresses once installed, after the deletions, after SIGTERM. */
  installed: string[];
  afterDeletions: string[];
  stopped: string[];
  /** The `Restoring deleted static address …` lines. */
  restored: string[];
  /** The data dump's `------< Static Addresses >------` section. */
  dump: string[];
  /** State transitions logged while the reload was applied. */
  flaps: number;
  log: string;
}

const r: { keepalived?: Side; vigil?: Side; journals?: Verified[] } = {};

/** The lines of a data dump's Static Addresses section. */
const staticSection = (data: string): string[] => {
  const lines = data.split("\n");
  const at = lines.indexOf("------< Static Addresses >------");
  if (at < 0) return [];
  const end = lines.findIndex((l, i) => i > at && l.startsWith("------<"));
  return lines.slice(at, end < 0 ? undefined : end);
};

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true }))(suite, () => {
  withLabs(["sa"], async ([lab]) => {
    const h1 = lab.host(1);
    const s = lab.subnet;
    const net = `198.18.${s}`;
    const net2 = `198.19.${s}`;
    await lab.secondInterface(h1, "sa1"); // eth1, without an address: the statics put theirs on it
    const statics = (dropped = false): string =>
      [
        "static_ipaddress {",
        `    ${net}.50/24 dev eth0`,
        dropped ? `    ${net}.54/24 dev eth0` : `    ${net}.51/24 dev eth0 label eth0:st`,
        `    ${net2}.52/24 dev eth1 no_track`,
        `    ${net2}.53/32 dev eth1 brd + scope link`,
        `    2001:2:${s.toString(16)}::12/64 dev eth1`,
        "}",
      ].join("\n");
    const conf = (dropped = false): string =>
      configText(
        "static",
        statics(dropped),
        instanceBlock({ vrid: 94, prio: 100, state: "BACKUP", advertInt: "1", vips: [`${net}.100/24`] }),
      );
    const ours = (line: string): boolean =>
      line.includes(` ${net}.5`) || line.includes(` ${net2}.5`) || line.includes(" 2001:2:");
    /** `ip -o addr show` of the static addresses, without the lifetimes line. */
    const addresses = async (): Promise<string[]> =>
      (await lab.nsRun(h1.ns, "ip", ["-o", "addr", "show"]))
        .split("\n")
        .filter(ours)
        .map((l) => l.replace(/\\\s+valid_lft.*$/, "").trim());
    const settle = (want: number) =>
      waitFor(
        `${want} static addresses`,
        async () => ((await addresses()).length === want ? true : undefined),
        5_000,
        50,
      );
    const restoredLines = (p: LabProcess): string[] =>
      p.output.split("\n").flatMap((l) => /Restoring deleted static address .*$/.exec(l)?.[0] ?? []);
    /** Deletes the tracked IPv4 .50, the no_track .52 and the IPv6 one; the tracked two come back. */
    const deletions = async (p: LabProcess): Promise<string[]> => {
      const before = restoredLines(p).length;
      await lab.nsRun(h1.ns, "ip", ["addr", "del", `${net}.50/24`, "dev", "eth0"]);
      await lab.nsRun(h1.ns, "ip", ["addr", "del", `${net2}.52/24`, "dev", "eth1"]);
      await lab.nsRun(h1.ns, "ip", ["addr", "del", `2001:2:${s.toString(16)}::12/64`, "dev", "eth1"]);
      await waitFor("two restored", () => (restoredLines(p).length >= before + 2 ? true : undefined), 5_000);
      await settle(4);
      // time for a (wrong) restore of the no_track one to show
      await new Promise((resolve) => setTimeout(resolve, 500));
      return addresses();
    };

    /** SIGHUP with .51 dropped and .54 added: the addresses once .54 is there and .51 gone. */
    const reload = async (p: LabProcess, configPath: string): Promise<string[]> => {
      writeFileSync(configPath, conf(true));
      if (p.pid !== undefined) process.kill(p.pid, "SIGHUP");
      return waitFor("the reloaded addresses", async () => {
        const now = await addresses();
        const done =
          now.some((l) => l.includes(`${net}.54/24`)) && !now.some((l) => l.includes(`${net}.51/`));
        return done ? now : undefined;
      });
    };

    /**
     * One daemon's run, once it is BACKUP: the addresses installed, the deletions, the data dump
     * (SIGUSR1, written to `dataPath`), the reload (and the transitions it logged), SIGTERM.
     */
    const exercise = async (p: LabProcess, configPath: string, dataPath: string): Promise<Side> => {
      await p.waitForOutput(entering("VI_1", "BACKUP"), 30_000);
      await settle(5);
      const installed = await addresses();
      const afterDeletions = await deletions(p);
      writeFileSync(dataPath, "");
      if (p.pid !== undefined) process.kill(p.pid, "SIGUSR1");
      const dump = await waitFor(`${p.label}'s keepalived.data`, () => {
        const t = readFileSync(dataPath, "utf8");
        return t.includes("VRRP Topology") ? staticSection(t) : undefined;
      });
      const transitions = countLines(p.output, /Entering \w+ STATE/);
      const reloaded = await reload(p, configPath);
      const flaps = countLines(p.output, /Entering \w+ STATE/) - transitions;
      await p.stop("SIGTERM", 10_000);
      const stopped = await addresses();
      return {
        reloaded,
        installed,
        afterDeletions,
        stopped,
        restored: restoredLines(p),
        dump,
        flaps,
        log: p.output,
      };
    };

    const ka = keepalivedPrivateTmp(lab, h1, conf(), "keepalived");
    try {
      r.keepalived = await exercise(ka.proc, ka.configPath, join(ka.dir, "keepalived.data"));
    } finally {
      await ka.proc.stop("SIGTERM", 10_000);
    }

    const dumps = lab.tempDir();
    const v = startVigil(lab, h1, conf(), "vigil", ["--dump-dir", dumps]);
    try {
      r.vigil = await exercise(v.proc, v.configPath, join(dumps, "keepalived.data"));
      r.journals = await verifyJournal(v);
    } finally {
      await v.proc.stop("SIGTERM", 10_000);
      dumpForInspection("static-addresses.json", JSON.stringify(r, null, 2));
    }
  });

  it("keepalived installs the five at start, restores the two tracked ones, removes all at SIGTERM", () => {
    const k = r.keepalived;
    expect(k?.installed).toHaveLength(5);
    expect(k?.afterDeletions).toHaveLength(4);
    expect(k?.restored).toHaveLength(2);
    expect(k?.stopped).toEqual([]);
    expect(k?.log).toContain("Address prefix length 32 too long for broadcast");
  });

  it("Vigil's addresses are keepalived's: installed, after the deletions, after SIGTERM", () => {
    expect(r.vigil?.installed).toEqual(r.keepalived?.installed);
    expect(r.vigil?.afterDeletions).toEqual(r.keepalived?.afterDeletions);
    expect(r.vigil?.stopped).toEqual([]);
  });

  it("the restore lines are keepalived's (without its ' set', which Vigil knows only later)", () => {
    expect(r.vigil?.restored).toEqual(r.keepalived?.restored.map((l) => l.replace(/ set$/, "")));
  });

  it("the data dump's Static Addresses section is keepalived's, line for line", () => {
    expect(r.keepalived?.dump).toHaveLength(6);
    expect(r.vigil?.dump).toEqual(r.keepalived?.dump);
  });

  it("a reload removes the dropped address and adds the new one, as keepalived; no state change", () => {
    // the no_track one deleted before stays deleted: it is neither restored nor added again
    expect(r.keepalived?.reloaded).toHaveLength(4);
    expect(r.vigil?.reloaded).toEqual(r.keepalived?.reloaded);
    expect(r.vigil?.flaps).toBe(0);
    expect(r.keepalived?.flaps).toBe(0);
  });

  it("Vigil's journal replays with vigil replay --verify", () => {
    expectJournalsVerified(r.journals ?? []);
  });
});
