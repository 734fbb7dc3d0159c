/**
 * keepalived's signal dumps from a Node on the VirtualClock: the stats file line for line as
 * keepalived 2.2.7 writes it (layout captured from the real binary), the JSON's field names and
 * state numbers, the data file's keepalived wording (BACKUP shows its master router), files written
 * 0600 without following a planted symlink, and the signals: SIGUSR1 / SIGUSR2 through Node's
 * process events, SIGRTMIN+2 and SIGRTMAX−1 as real signals to this process (before the handler
 * their default action would kill it), the stats clear visible in the dumps only.
 */
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  installDumpSignals,
  SIGNUM_JSON,
  SIGNUM_STATS_CLEAR,
  writeDumpFile,
} from "../../src/daemon/dump-signals.ts";
import { dumpView, formatData, formatJson, formatStats } from "../../src/daemon/dumps.ts";
import { observeDaemon } from "../../src/daemon/observe.ts";
import { formatVip } from "../../src/runtime/spec.ts";
import { newStats } from "../../src/runtime/stats.ts";
import { KEEPALIVED_COUNTERS } from "../support/counters.ts";
import { rig, S, until } from "./status-rig.ts";

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "vigil-dumps-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** keepalived 2.2.7's /tmp/keepalived.stats for one instance (captured; numbers set below). */
const KEEPALIVED_STATS = `VRRP Instance: VI_1
  Advertisements:
    Received: 1
    Sent: 2
  Became master: 3
  Released master: 4
  Packet Errors:
    Length: 5
    TTL: 7
    Invalid Type: 8
    Advertisement Interval: 6
    Address List: 9
  Authentication Errors:
    Invalid Type: 10
    Type Mismatch: 11
    Failure: 12
  Priority Zero:
    Received: 13
    Sent: 14
`;

/** The data / stats keys of keepalived 2.2.7's keepalived.json for an instance without scripts (observed). */
const KEEPALIVED_DATA_KEYS =
  "iname dont_track_primary skip_check_adv_addr strict_mode vmac_ifname ifp_ifname master_priority last_transition garp_delay garp_refresh garp_rep garp_refresh_rep garp_lower_prio_delay garp_lower_prio_rep lower_prio_no_advert higher_prio_send_advert vrid base_priority effective_priority vipset promote_secondaries adver_int master_adver_int accept nopreempt preempt_delay state wantstate version smtp_alert notify_deleted vips auth_type".split(
    " ",
  );

describe("dump formats", () => {
  it("keepalived.stats: keepalived's layout, each counter on its own line", () => {
    const s = newStats();
    KEEPALIVED_COUNTERS.forEach((k, i) => {
      s[k] = i + 1;
    });
    expect(formatStats([{ name: "VI_1", stats: s }])).toBe(KEEPALIVED_STATS);
    expect(formatStats([])).toBe("");
  });

  it("keepalived.json: one line, keepalived's keys, states as numbers, the counters", () => {
    const r = rig();
    r.clock.advanceBy(5 * S);
    r.advert(52, 200, ["198.18.0.101"]);
    const text = formatJson(dumpView(r.node, r.model));
    expect(text.endsWith("]\n")).toBe(true);
    expect(text.slice(0, -1)).not.toContain("\n");
    const list = JSON.parse(text) as Array<{ data: Record<string, unknown>; stats: Record<string, number> }>;
    expect(list.map((e) => Object.keys(e.data))).toEqual([KEEPALIVED_DATA_KEYS, KEEPALIVED_DATA_KEYS]);
    expect(list.map((e) => Object.keys(e.stats))).toEqual([KEEPALIVED_COUNTERS, KEEPALIVED_COUNTERS]);
    const [vi1, vi2] = list;
    expect(vi1?.data).toMatchObject({
      iname: "VI_1",
      ifp_ifname: "eth0",
      vrid: 51,
      state: 2,
      wantstate: 2,
      base_priority: 150,
      effective_priority: 150,
      vipset: true,
      adver_int: 1,
      garp_delay: 5,
      garp_rep: 5,
      version: 2,
      vips: ["198.18.0.100/24 dev eth0 scope global set"],
      last_transition: 1_800_000_003.414,
      auth_type: 0,
    });
    expect(vi2?.data).toMatchObject({ iname: "VI_2", state: 1, master_priority: 200, vipset: false });
    expect(vi2?.data.vips).toEqual(["198.18.0.101/24 dev eth0 scope global"]);
    expect(vi2?.stats.advert_rcvd).toBe(1);
    expect(vi1?.stats.become_master).toBe(1);
  });

  it("routes and rules: the static sections first, each instance's Virtual Routes / Rules, vroutes / vrules", () => {
    const r = rig(`
static_routes {
  198.18.7.0/24 via 198.18.0.254 dev eth0
}
static_rules {
  from 198.18.7.0/24 table 100 priority 900
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.18.0.100/24
  }
  virtual_routes {
    198.18.8.0/24 via 198.18.0.254 dev eth0 table 100
  }
  virtual_rules {
    to 198.18.8.0/24 table 100 priority 1000
  }
}
`);
    const lines = formatData(dumpView(r.node, r.model)).split("\n");
    expect(lines.slice(0, 5)).toEqual([
      "------< Static Routes >------",
      "     prepend 198.18.7.0/24 via inet 198.18.0.254 dev eth0 proto 18",
      "------< Static Rules >------",
      "     from 198.18.7.0/24 priority 900 tos 0x0 protocol 18 lookup 100",
      "------< VRRP Topology >------",
    ]);
    const at = lines.indexOf("   Virtual Routes :");
    expect(lines.slice(at, at + 4)).toEqual([
      "   Virtual Routes :",
      "     prepend 198.18.8.0/24 via inet 198.18.0.254 dev eth0 table 100 proto 18",
      "   Virtual Rules :",
      "     from all to 198.18.8.0/24 priority 1000 tos 0x0 protocol 18 lookup 100",
    ]);
    const [vi1] = JSON.parse(formatJson(dumpView(r.node, r.model))) as Array<{
      data: Record<string, unknown>;
    }>;
    expect(vi1?.data.vroutes).toEqual([
      "prepend 198.18.8.0/24 via inet 198.18.0.254 dev eth0 table 100 proto 18",
    ]);
    expect(vi1?.data.vrules).toEqual([
      "from all to 198.18.8.0/24 priority 1000 tos 0x0 protocol 18 lookup 100",
    ]);
  });

  it("keepalived.data: the VRRP Topology and Sync groups sections in keepalived's words", () => {
    const r = rig();
    r.clock.advanceBy(5 * S);
    r.advert(52, 200, ["198.18.0.101"]);
    const text = formatData(dumpView(r.node, r.model));
    const lines = text.split("\n");
    expect(lines[0]).toBe("------< VRRP Topology >------");
    const vi2 = lines.slice(lines.indexOf(" VRRP Instance = VI_2"));
    expect(vi2.slice(0, 5)).toEqual([
      " VRRP Instance = VI_2",
      "   VRRP Version = 2",
      "   State = BACKUP",
      "   Master router = 198.18.0.2",
      "   Master priority = 200",
    ]);
    for (const l of [
      " VRRP Instance = VI_1",
      "   Sync group = G1",
      "   State = MASTER",
      "   Interface = eth0",
      "   Using src_ip = 198.18.0.1",
      "   Multicast address 224.0.0.18",
      "   Virtual Router ID = 51",
      "   Priority = 150",
      "   Effective priority = 150",
      "   Advert interval = 1 sec",
      "   Preempt = enabled",
      "   Authentication type = none",
      "   Virtual IP (1):",
      "     198.18.0.100/24 dev eth0 scope global set",
      "------< VRRP Sync groups >------",
      " VRRP Sync Group = G1, MASTER",
      "   VRRP member instances :",
      "     VI_1",
    ])
      expect(lines, l).toContain(l);
    expect(text).toMatch(
      /^ {3}Last transition = 1800000003\.414000 \(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d\.414000 2027\)$/m,
    );
  });

  it("keepalived.data: tracked interfaces, scripts, files and processes in keepalived's order and words", () => {
    const r = rig(`
global_defs {
  enable_script_security
  script_user root
}
vrrp_script chk {
  script "/bin/true"
  weight -20 reverse
}
vrrp_track_process tp {
  process sshd
  weight 7 reverse
}
track_file tf {
  file /run/vigil-test-tf
  weight 3
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    198.18.0.100/24
  }
  track_process {
    tp weight 4
  }
  track_file {
    tf weight 2 reverse
  }
  track_script {
    chk weight -10
  }
  track_interface {
    eth1 weight 10
  }
}
`);
    const lines = formatData(dumpView(r.node, r.model)).split("\n");
    const at = lines.indexOf("   Tracked interfaces :");
    // As keepalived 2.2.7 dumps the same configuration (its `-d`; the weights: track-options.test.ts).
    expect(lines.slice(at, at + 8)).toEqual([
      "   Tracked interfaces :",
      "     eth1 weight 10",
      "   Tracked scripts :",
      "     chk weight -10 reverse",
      "   Tracked files :",
      "     tf, weight 2 reverse",
      "   Tracked processes :",
      "     tp, weight 4 reverse",
    ]);
  });

  it("VIPs as keepalived's format_ipaddress writes them", () => {
    const base = {
      address: "2001:db8::10",
      prefixLength: 64,
      family: 6 as const,
      dev: "eth1",
      broadcast: null,
      scope: "global",
      label: null,
      peer: null,
      preferredLft: null,
      noPrefixRoute: true,
      noDad: true,
      home: false,
      mngTmpAddr: false,
      autoJoin: false,
      noTrack: true,
    };
    expect(formatVip(base, true)).toBe(
      "2001:db8::10/64 dev eth1 scope global -nodad noprefixroute no_track preferred_lft forever set",
    );
    expect(
      formatVip(
        {
          ...base,
          address: "198.18.0.9",
          prefixLength: 24,
          family: 4,
          broadcast: "198.18.0.255",
          label: "eth1:1",
        },
        false,
      ),
    ).toBe("198.18.0.9/24 brd 198.18.0.255 dev eth1 scope global label eth1:1 -nodad noprefixroute no_track");
  });
});

describe("dump files and signals", () => {
  it("writes mode 0600 over an existing file and replaces a planted symlink without following it", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "keepalived.data"), "old", { mode: 0o644 });
    writeDumpFile(dir, "keepalived.data", "new\n");
    expect(readFileSync(join(dir, "keepalived.data"), "utf8")).toBe("new\n");
    expect(statSync(join(dir, "keepalived.data")).mode & 0o777).toBe(0o600);
    const victim = join(dir, "victim");
    writeFileSync(victim, "precious", { mode: 0o644 });
    symlinkSync(victim, join(dir, "keepalived.stats"));
    writeDumpFile(dir, "keepalived.stats", "stats\n");
    expect(readFileSync(victim, "utf8")).toBe("precious");
    expect(lstatSync(join(dir, "keepalived.stats")).isSymbolicLink()).toBe(false);
    expect(statSync(join(dir, "keepalived.stats")).mode & 0o777).toBe(0o600);
  });

  it("SIGUSR1, SIGUSR2, SIGRTMIN+2 and SIGRTMAX-1 write the dumps with keepalived's log lines", async () => {
    const r = rig();
    r.clock.advanceBy(5 * S);
    const dir = tempDir();
    const logs: string[] = [];
    const signals = installDumpSignals({
      view: () => dumpView(r.node, r.model),
      log: (l) => void logs.push(l),
      dir,
      pid: 77,
    });
    try {
      expect(signals.realtime).toBe("handled");
      process.emit("SIGUSR1", "SIGUSR1");
      process.emit("SIGUSR2", "SIGUSR2");
      expect(readFileSync(join(dir, "keepalived.data"), "utf8")).toContain(" VRRP Instance = VI_1");
      expect(readFileSync(join(dir, "keepalived.stats"), "utf8")).toContain("VRRP Instance: VI_2");
      // Real-time signals to this very process: unhandled, their default action is to terminate it.
      process.kill(process.pid, SIGNUM_JSON);
      await until("keepalived.json", () => logs.length === 3);
      const json = JSON.parse(readFileSync(join(dir, "keepalived.json"), "utf8")) as Array<{
        stats: { advert_sent: number };
      }>;
      const sent = json[0]?.stats.advert_sent ?? 0;
      expect(sent).toBeGreaterThan(0);
      process.kill(process.pid, SIGNUM_STATS_CLEAR);
      await until("the stats clear", () => logs.length === 4);
      expect(readFileSync(join(dir, "keepalived.stats"), "utf8")).toContain(`    Sent: ${sent}\n`);
      r.clock.advanceBy(2 * S); // two more adverts
      signals.dump("json");
      const after = JSON.parse(readFileSync(join(dir, "keepalived.json"), "utf8")) as typeof json;
      expect(after[0]?.stats.advert_sent).toBe(2);
      expect(r.node.stats("VI_1")?.advert_sent).toBe(sent + 2); // the node's own counters are untouched
      expect(logs).toEqual([
        "Printing VRRP data for process(77) on signal",
        "Printing VRRP stats for process(77) on signal",
        "Printing VRRP as json for process(77) on signal",
        "Printing and clearing VRRP stats for process(77) on signal",
        "Printing VRRP as json for process(77) on signal",
      ]);
      for (const f of ["keepalived.data", "keepalived.stats", "keepalived.json"])
        expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    } finally {
      signals.close();
    }
  });

  it("a directory that cannot be written: keepalived's `Can't open` line, no exception", async () => {
    const r = rig();
    const logs: string[] = [];
    const signals = installDumpSignals({
      view: () => dumpView(r.node, r.model),
      log: (l) => void logs.push(l),
      dir: join(tempDir(), "missing"),
      pid: 1,
    });
    try {
      signals.dump("stats");
      expect(logs[1]).toMatch(/^Can't open .*\/missing\/keepalived\.stats \(2: ENOENT/);
    } finally {
      signals.close();
    }
  });

  it("the daemon's observer answers the dump signals from before its node runs, and removes them", async () => {
    const before = process.listenerCount("SIGUSR2");
    const dir = tempDir();
    const logs: string[] = [];
    const observer = observeDaemon({
      configFile: "/c",
      status: undefined,
      dumpDir: dir,
      log: (l) => void logs.push(l),
    });
    expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
    process.emit("SIGUSR2", "SIGUSR2");
    expect(readFileSync(join(dir, "keepalived.stats"), "utf8")).toBe("");
    expect(logs).toEqual([`Printing VRRP stats for process(${process.pid}) on signal`]);
    await observer.close();
    expect(process.listenerCount("SIGUSR2")).toBe(before);
  });

  // Last in this file: it leaves signal 36 ignored in this worker.
  it("without the libuv binding: real-time signals ignored (not fatal), the JSON written on SIGUSR2", async () => {
    const r = rig();
    const dir = tempDir();
    const logs: string[] = [];
    const signals = installDumpSignals({
      view: () => dumpView(r.node, r.model),
      log: (l) => void logs.push(l),
      dir,
      pid: 5,
      listenNumber: () => undefined,
    });
    try {
      expect(signals.realtime).toBe("ignored");
      expect(logs).toEqual([
        "Real-time signals 36 and 63 cannot be handled here (ignored): the JSON dump is written on SIGUSR2 too",
      ]);
      process.kill(process.pid, SIGNUM_JSON); // would terminate this process if not ignored
      for (let i = 0; i < 50; i++) await new Promise((res) => setImmediate(res));
      process.emit("SIGUSR2", "SIGUSR2");
      expect(JSON.parse(readFileSync(join(dir, "keepalived.json"), "utf8"))).toHaveLength(2);
    } finally {
      signals.close();
    }
  });
});
