/**
 * `virtual_routes` and `virtual_rules` on a real kernel, Vigil against keepalived 2.2.7 with the same
 * configuration in the same namespace (one after the other): a MASTER installs every route and rule
 * after its VIPs (a route whose `src` is the VIP needs it), and `ip route` / `ip rule` must then read
 * the same for both daemons, as must their JSON dumps' `vroutes` / `vrules`; a tracked route or rule
 * deleted with `ip` sends either daemon to BACKUP and back to MASTER, which reinstalls it (a
 * `no_track` one stays deleted), a deleted static route or rule is added again at once (the route
 * watch being open); both remove them all at SIGTERM. Then Vigil alone: a BACKUP that a
 * higher-priority keepalived preempts removes them, the dry run only logs them, the journals replay.
 * ~20 s.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type Lab, type LabProcess, waitFor } from "../support/lab.ts";
import {
  configText,
  countLines,
  instanceBlock,
  keepalivedJson,
  keepalivedPrivateTmp,
  sawLine,
  startVigil,
  type Verified,
  type VigilRun,
  verifyJournal,
} from "./support/mixed-cluster.ts";
import { entering, expectJournalsVerified, withLabs } from "./support/mixed-cluster-suite.ts";

const suite = "netns: virtual_routes and virtual_rules, Vigil against keepalived 2.2.7";

interface Tables {
  /** `ip route show table all proto 18`, IPv4. */
  readonly routes: string;
  /** `ip rule show`. */
  readonly rules: string;
}

type Deletions = Array<{ what: string; backups: number; masters: number; back: boolean }>;

interface Run {
  before: Tables;
  keepalived: {
    master: Tables;
    stopped: Tables;
    log: string;
    json: Record<string, unknown>;
    deletions: Deletions;
  };
  vigil: {
    master: Tables;
    stopped: Tables;
    preempted: Tables;
    log: string;
    preemptLog: string;
    json: Record<string, unknown>;
    deletions: Deletions;
    reloaded: { tables: Tables; flaps: number };
  };
  dryRun: { tables: Tables; log: string };
  journals: Verified[];
}

const r: Partial<Run> = {};
/** The static route's and rule's network. */
let staticNet = "";

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true }))(suite, () => {
  withLabs(["rt"], async ([lab]) => {
    const h1 = lab.host(1);
    const net = `198.18.${lab.subnet}`;
    const s = lab.subnet;
    const tables = async (): Promise<Tables> => ({
      routes: await lab.nsRun(h1.ns, "ip", ["-4", "route", "show", "table", "all", "proto", "18"]),
      rules: await lab.nsRun(h1.ns, "ip", ["-4", "rule", "show"]),
    });
    /** `reloaded`: the blackhole route dropped, a new route, rule 1001 moved to 1011. */
    const conf = (prio: number, extra: readonly string[] = [], reloaded = false): string =>
      configText(
        `routes-${prio}`,
        instanceBlock({
          vrid: 93,
          prio,
          advertInt: "0.1",
          version: 3,
          vips: [`${net}.100/24`],
          extra: [
            ...extra,
            "virtual_routes {",
            `    198.19.${s}.0/24 via ${net}.254 dev eth0`,
            `    src ${net}.100 to 198.19.${(s + 1) % 256}.0/24 via ${net}.254 dev eth0 table 100 metric 7`,
            reloaded
              ? `    198.19.${(s + 6) % 256}.0/24 via ${net}.254 dev eth0 table 100`
              : `    blackhole 198.19.${(s + 2) % 256}.0/24 table 100`,
            `    unreachable 198.19.${(s + 3) % 256}.0/24 table 101 no_track`,
            `    198.19.${(s + 4) % 256}.16/28 dev eth0 scope link append`,
            "}",
            "virtual_rules {",
            `    from 198.19.${s}.0/24 table 100 priority 1000`,
            `    to 198.19.${(s + 1) % 256}.0/24 lookup 101 preference ${reloaded ? 1011 : 1001} fwmark 0x10/0xff`,
            `    from ${net}.100 table 100`,
            "    fwmark 7 priority 1002 unreachable",
            `    not from 198.19.${(s + 5) % 256}.0/24 iif eth0 table 101 priority 1003`,
            "}",
          ],
        }),
        // installed at start whatever the state, removed at exit
        ["static_routes {", `    198.19.${(s + 7) % 256}.0/24 via ${net}.254 dev eth0`, "}"].join("\n"),
        ["static_rules {", `    from 198.19.${(s + 7) % 256}.0/24 table 100 priority 900`, "}"].join("\n"),
      );
    r.before = await tables();
    staticNet = `198.19.${(s + 7) % 256}.0/24`;
    /**
     * Someone else deletes a tracked route, then a tracked rule, then a no_track route: after each,
     * how many times the daemon had entered BACKUP and MASTER, and whether the entry is back.
     */
    const deletions = async (p: LabProcess): Promise<Deletions> => {
      const count = (state: string): number => countLines(p.output, entering("VI_1", state));
      const out: Deletions = [];
      for (const [what, args, present] of [
        [
          "route",
          ["-4", "route", "del", `198.19.${s}.0/24`, "dev", "eth0", "proto", "18"],
          (t: Tables) => t.routes.includes(`198.19.${s}.0/24 via`),
        ],
        ["rule", ["-4", "rule", "del", "pref", "1000"], (t: Tables) => t.rules.includes("1000:")],
        [
          "no_track route",
          ["-4", "route", "del", `198.19.${(s + 3) % 256}.0/24`, "table", "101"],
          (t: Tables) => t.routes.includes(`198.19.${(s + 3) % 256}.0/24`),
        ],
        // the route watch is open (tracked virtual entries): a deleted static one is added again
        [
          "static route",
          ["-4", "route", "del", `198.19.${(s + 7) % 256}.0/24`, "proto", "18"],
          (t: Tables) => t.routes.includes(`198.19.${(s + 7) % 256}.0/24 via`),
        ],
        ["static rule", ["-4", "rule", "del", "pref", "900"], (t: Tables) => t.rules.includes("900:")],
      ] as const) {
        const masters = count("MASTER");
        const restored = countLines(p.output, /Restoring deleted static/);
        await lab.nsRun(h1.ns, "ip", [...args]);
        if (what.startsWith("static")) await sawLine(p, /Restoring deleted static/, 5_000, restored + 1);
        else if (what !== "no_track route") await sawLine(p, entering("VI_1", "MASTER"), 5_000, masters + 1);
        else await new Promise((resolve) => setTimeout(resolve, 1_000));
        await waitTables(lab, tables, (t) => t.rules.includes("1003:"));
        out.push({ what, backups: count("BACKUP"), masters: count("MASTER"), back: present(await tables()) });
      }
      return out;
    };

    // keepalived first: alone on the LAN it becomes MASTER after one Master_Down interval.
    const ka = keepalivedPrivateTmp(lab, h1, conf(150), "keepalived");
    await ka.proc.waitForOutput(entering("VI_1", "MASTER"), 30_000);
    await waitTables(lab, tables, (t) => t.rules.includes("1003:"));
    r.keepalived = {
      master: await tables(),
      stopped: r.before,
      log: "",
      json: (await keepalivedJson(ka))[0]?.data ?? {},
      deletions: await deletions(ka.proc),
    };
    await ka.proc.stop("SIGTERM", 10_000);
    r.keepalived.stopped = await tables();
    r.keepalived.log = ka.proc.output;

    // Vigil with the same configuration.
    let v: VigilRun | undefined;
    let high: LabProcess | undefined;
    try {
      const dumps = lab.tempDir();
      v = startVigil(lab, h1, conf(150), "vigil", ["--dump-dir", dumps]);
      await v.proc.waitForOutput(entering("VI_1", "MASTER"), 30_000);
      await waitTables(lab, tables, (t) => t.rules.includes("1003:"));
      const master = await tables();
      if (v.proc.pid !== undefined) process.kill(v.proc.pid, 36); // SIGRTMIN+2: keepalived.json
      const json = join(dumps, "keepalived.json");
      const text = await waitFor("Vigil's keepalived.json", () =>
        existsSync(json) && readFileSync(json, "utf8").endsWith("\n")
          ? readFileSync(json, "utf8")
          : undefined,
      );
      const data = (JSON.parse(text) as Array<{ data: Record<string, unknown> }>)[0]?.data ?? {};
      const deleted = await deletions(v.proc);
      // SIGHUP with the reloaded file: the dropped and changed entries go, the new ones come, no flap.
      const transitions = countLines(v.proc.output, /Entering \w+ STATE/);
      writeFileSync(v.configPath, conf(150, [], true));
      if (v.proc.pid !== undefined) process.kill(v.proc.pid, "SIGHUP");
      await v.proc.waitForOutput(/Reload complete/, 10_000);
      await waitTables(lab, tables, (t) => t.rules.includes("1011:"));
      const reloaded = {
        tables: await tables(),
        flaps: countLines(v.proc.output, /Entering \w+ STATE/) - transitions,
      };
      await v.proc.stop("SIGTERM", 10_000);
      r.vigil = {
        master,
        stopped: await tables(),
        preempted: r.before,
        log: v.proc.output,
        preemptLog: "",
        json: data,
        deletions: deleted,
        reloaded,
      };
      r.journals = await verifyJournal(v);

      // Vigil MASTER again, then keepalived at a higher priority on the other host preempts it.
      v = startVigil(lab, h1, conf(150), "vigil-preempted");
      await v.proc.waitForOutput(entering("VI_1", "MASTER"), 30_000);
      await waitTables(lab, tables, (t) => t.rules.includes("1003:"));
      high = lab.keepalived(lab.host(2), conf(250), "keepalived-250").proc;
      await sawLine(v.proc, entering("VI_1", "BACKUP"), 10_000);
      await waitTables(lab, tables, (t) => !t.rules.includes("1003:"));
      r.vigil.preempted = await tables();
      r.vigil.preemptLog = v.proc.output;
      await high.stop("SIGTERM", 10_000);
      await v.proc.stop("SIGTERM", 10_000);
      r.journals.push(...(await verifyJournal(v)));

      // --dry-run: the commands are logged, nothing is installed.
      const d = startVigil(lab, h1, conf(150), "vigil-dry-run", ["--dry-run"]);
      await d.proc.waitForOutput(/\[dry-run\] add rule .*1003/, 30_000);
      r.dryRun = { tables: await tables(), log: "" };
      await d.proc.stop("SIGTERM", 10_000);
      r.dryRun.log = d.proc.output;
    } finally {
      await high?.stop("SIGTERM", 10_000);
      await v?.proc.stop("SIGTERM", 10_000);
      dumpForInspection("routes.json", JSON.stringify(r, null, 2));
    }
  });

  it("keepalived installs the routes and rules as MASTER and removes them at SIGTERM", () => {
    const k = r.keepalived;
    expect(k).toBeDefined();
    if (k === undefined || r.before === undefined) return;
    expect(r.before.routes.trim()).toBe("");
    // five virtual routes and the static one
    expect(k.master.routes.split("\n").filter((l) => l.trim() !== "")).toHaveLength(6);
    expect(k.master.routes).toContain(`${staticNet} via`);
    expect(k.master.rules).toMatch(/^900:\s+from 198\.19\.\d+\.0\/24 lookup 100 proto keepalived\s*$/m);
    expect(k.master.rules).toMatch(/^1000:\s+from 198\.19\.\d+\.0\/24 lookup 100 proto keepalived\s*$/m);
    expect(k.master.rules).toMatch(/^16384:\s+from 198\.18\.\d+\.100 lookup 100 proto keepalived\s*$/m);
    expect(k.stopped).toEqual(r.before);
  });

  it("Vigil installs exactly what keepalived installs, and removes it all at SIGTERM", () => {
    const v = r.vigil;
    expect(v).toBeDefined();
    if (v === undefined || r.keepalived === undefined) return;
    expect(v.master.routes).toBe(r.keepalived.master.routes);
    expect(v.master.rules).toBe(r.keepalived.master.rules);
    expect(v.stopped).toEqual(r.before);
    expect(v.log).not.toMatch(/Netlink: error/);
  });

  it("the JSON dump's vroutes and vrules are keepalived's, string for string", () => {
    const k = r.keepalived?.json;
    expect(k?.vroutes).toHaveLength(5);
    expect(k?.vrules).toHaveLength(5);
    expect(r.vigil?.json.vroutes).toEqual(k?.vroutes);
    expect(r.vigil?.json.vrules).toEqual(k?.vrules);
  });

  it("a tracked route or rule deleted by someone else: BACKUP, MASTER again, reinstalled — as keepalived", () => {
    // counted from the start, which entered BACKUP then MASTER once
    const expected = [
      { what: "route", backups: 2, masters: 2, back: true },
      { what: "rule", backups: 3, masters: 3, back: true },
      { what: "no_track route", backups: 3, masters: 3, back: false },
      { what: "static route", backups: 3, masters: 3, back: true },
      { what: "static rule", backups: 3, masters: 3, back: true },
    ];
    expect(r.keepalived?.deletions).toEqual(expected);
    expect(r.vigil?.deletions).toEqual(expected);
  });

  it("the deleted static route and rule are restored with keepalived's lines", () => {
    const lines = (log: string | undefined) =>
      (log ?? "").split("\n").flatMap((l) => /Restoring deleted static .*$/.exec(l)?.[0] ?? []);
    expect(lines(r.keepalived?.log)).toHaveLength(2);
    expect(lines(r.vigil?.log)).toEqual(lines(r.keepalived?.log));
  });

  it("a reload removes the dropped and changed entries and adds every route and the new rules, without a flap", () => {
    const x = r.vigil?.reloaded;
    expect(x?.flaps).toBe(0);
    expect(x?.tables.routes).not.toMatch(/blackhole/);
    // every route is added again, as keepalived does: the no_track one deleted above is back
    expect(x?.tables.routes).toMatch(/^unreachable 198\.19\.\d+\.0\/24 table 101 $/m);
    // the new route in table 100, beside the one with `src` that stayed
    expect(
      x?.tables.routes.match(/^198\.19\.\d+\.0\/24 via 198\.18\.\d+\.254 dev eth0 table 100 /gm),
    ).toHaveLength(2);
    expect(x?.tables.rules).toMatch(/^1011:/m);
    expect(x?.tables.rules).not.toMatch(/^1001:/m);
    expect(x?.tables.rules).toMatch(/^1000:/m);
  });

  it("a MASTER preempted by a higher priority removes its virtual rules and routes, not the static ones", () => {
    const v = r.vigil;
    const statics = (t: Tables | undefined) =>
      `${t?.routes.split("\n").filter((l) => l.includes(staticNet)).length} ${t?.rules.split("\n").filter((l) => l.includes(staticNet)).length}`;
    const others = (t: Tables | undefined): Tables => ({
      routes: (t?.routes ?? "")
        .split("\n")
        .filter((l) => !l.includes(staticNet))
        .join("\n"),
      rules: (t?.rules ?? "")
        .split("\n")
        .filter((l) => !l.includes(staticNet))
        .join("\n"),
    });
    expect(statics(v?.preempted)).toBe("1 1");
    expect(others(v?.preempted)).toEqual(others(r.before));
    expect(v?.preemptLog).toMatch(/\(VI_1\) Entering BACKUP STATE/);
  });

  it("--dry-run logs every route and rule and installs none", () => {
    const d = r.dryRun;
    expect(d?.tables).toEqual(r.before);
    expect(d?.log).toMatch(
      /\[dry-run\] add route prepend 198\.19\.\d+\.0\/24 via inet 198\.18\.\d+\.254 dev eth0 proto 18/,
    );
    expect(d?.log).toMatch(
      /\[dry-run\] add rule from all priority 1002 tos 0x0 fwmark 0x7 protocol 18 type unreachable/,
    );
  });

  it("the journals replay with vigil replay --verify", () => {
    expectJournalsVerified(r.journals ?? [], 2);
  });
});

/** Polls `tables()` until `done` (the kernel has what a daemon sent after its state line). */
async function waitTables(
  _lab: Lab,
  tables: () => Promise<Tables>,
  done: (t: Tables) => boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (done(await tables())) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `routes and rules not as expected after ${timeoutMs} ms:\n${JSON.stringify(await tables())}`,
  );
}
