/**
 * Config ↔ runtime parity, enforced: every keyword of every keyword table is either
 * - warned by `vigil check` as "'KEYWORD' is parsed but not acted on by Vigil yet" (checked by running
 *   its handler), or
 * - proven acted on: a named runtime test (the file must contain the title), a conformance case whose
 *   keepalived.conf uses it (conformance.test.ts runs every case), or — `reaches` — a check here that
 *   the keyword changes the NodeSpec the runtime is built from (a projection of it).
 * A new keyword that is in none of these fails this test. LVS (virtual_server and everything inside
 * it) is covered by the one block-level warning, which says what of LVS src/lvs does not run yet.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Diagnostics } from "../../src/config/diagnostics.ts";
import { globalKeywords, topKeywords } from "../../src/config/keywords/global.ts";
import { instanceKeywords } from "../../src/config/keywords/instance.ts";
import { checkerKeywords, realServerKeywords, virtualServerKeywords } from "../../src/config/keywords/lvs.ts";
import {
  fileKeywords,
  processKeywords,
  scriptKeywords,
  syncGroupKeywords,
} from "../../src/config/keywords/trackers.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { KeywordTable } from "../../src/config/values.ts";
import { specFromConfig } from "../../src/runtime/config.adapter.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import { memFs } from "./memfs.ts";

const RT = "test/runtime/parity-runtime.test.ts";
const NOTIFY = "test/effects/notify-runs.test.ts";
const NETNS_NOTIFY = "test/netns/notify-effect.test.ts";
const PROBES = "test/trackers/probes.unit.test.ts";

type Proof =
  | { readonly file: string; readonly title: string }
  | { readonly case: string }
  | { readonly reaches: Reach };

/** A config fragment (in `global_defs` or the instance) and what it must change in the NodeSpec. */
interface Reach {
  readonly where: "global" | "instance" | "top" | "sync";
  readonly text: string;
  readonly project: (s: NodeSpec) => unknown;
  /** The fragment it is compared against (default: nothing). */
  readonly against?: string;
}

const c = (name: string): Proof => ({ case: name });
const t = (file: string, title: string): Proof => ({ file, title });
const inst0 = (s: NodeSpec) => s.instances[0];
const p0 = (s: NodeSpec) => s.instances[0]?.params;
/** An instance tracking `kind { name }`, so the tracker reaches the spec. */
const tracking = (kind: string, name: string): string =>
  `\nvrrp_instance VI_K {\ninterface eth0\nvirtual_router_id 30\n${kind} {\n${name}\n}\nvirtual_ipaddress {\n198.18.0.130/24\n}\n}\n`;
/** The sync group G9 tracking chk9 with weight 10 (forced to 0 unless sync_group_tracking_weight). */
const SYNC_TRACK = "track_script {\nchk9 weight 10\n}";
const viS = (s: NodeSpec) => s.instances.find((i) => i.params.name === "VI_S")?.tracking;
const r = (where: Reach["where"], text: string, project: Reach["project"]): Proof => ({
  reaches: { where, text, project },
});

const PROOF: Readonly<Record<string, Readonly<Record<string, Proof>>>> = {
  top: {
    global_defs: c("01-startup-backup"),
    vrrp_instance: c("01-startup-backup"),
    vrrp_sync_group: c("27-sync-group-master-together"),
    vrrp_script: c("19-script-weight-positive"),
    vrrp_track_process: c("34-track-process-quorum"),
    track_file: c("33-track-file-weight"),
    vrrp_track_file: r(
      "top",
      `vrrp_track_file tf2 {\nfile /tmp/x\n}${tracking("track_file", "tf2")}`,
      (s) => s.trackers.find((k) => k.name === "tf2")?.kind,
    ),
    interface_up_down_delays: t(
      "test/trackers/probes.unit.test.ts",
      "passes the first state at once, then delays a change once the interface was seen up",
    ),
    SSL: t("test/lvs/http-checker.test.ts", "the client certificate is presented"),
    virtual_server_group: t(
      "test/lvs/ipvs-groups.test.ts",
      "every group service is added with its real servers at start and deleted at shutdown",
    ),
    // installed at start by the runtime's VIP and route actors from the spec's static entries
    static_ipaddress: r("top", "static_ipaddress {\n198.18.7.1/24 dev eth0\n}", (s) =>
      s.staticAddresses?.map((v) => `${v.address}/${v.prefixLength} ${v.dev}`),
    ),
    static_routes: r("top", "static_routes {\n198.18.7.0/24 via 198.18.0.254 dev eth0\n}", (s) =>
      s.staticRoutes?.map((x) => x.text),
    ),
    static_rules: r("top", "static_rules {\nfrom 198.18.0.102 table 100 priority 101\n}", (s) =>
      s.staticRules?.map((x) => x.text),
    ),
  },
  global: {
    checker_log_all_failures: t(
      "test/lvs/checker-lines.machine.test.ts",
      "checker_log_all_failures: TCP_CHECK, HTTP_GET and MISC_CHECK lines, replay verifies",
    ),
    script_user: t(NOTIFY, "with enable_script_security: the unsafe root script is disabled"),
    enable_script_security: t(NOTIFY, "with enable_script_security: the unsafe root script is disabled"),
    vrrp_mcast_group4: t(RT, "vrrp_mcast_group4: the global group is the default destination"),
    vrrp_mcast_group6: r("global", "vrrp_mcast_group6 ff02::13", (s) => s.instances[1]?.mcastGroup),
    vrrp_garp_master_delay: r("global", "vrrp_garp_master_delay 3", (s) => p0(s)?.garpMasterDelayUs),
    vrrp_garp_lower_prio_delay: r(
      "global",
      "vrrp_garp_lower_prio_delay 7",
      (s) => p0(s)?.garpLowerPrioDelayUs,
    ),
    vrrp_garp_master_repeat: r("global", "vrrp_garp_master_repeat 2", (s) => p0(s)?.garpMasterRepeat),
    vrrp_garp_master_refresh: r("global", "vrrp_garp_master_refresh 30", (s) => p0(s)?.garpMasterRefreshUs),
    vrrp_garp_master_refresh_repeat: r(
      "global",
      "vrrp_garp_master_refresh_repeat 3",
      (s) => p0(s)?.garpMasterRefreshRepeat,
    ),
    vrrp_garp_lower_prio_repeat: r(
      "global",
      "vrrp_garp_lower_prio_repeat 2",
      (s) => p0(s)?.garpLowerPrioRepeat,
    ),
    vrrp_garp_interval: r("global", "vrrp_garp_interval 0.5", (s) => inst0(s)?.garpIntervalUs),
    vrrp_gna_interval: r("global", "vrrp_gna_interval 0.5", (s) => s.instances[1]?.gnaIntervalUs),
    vrrp_min_garp: r("global", "vrrp_min_garp", (s) => [p0(s)?.garpMasterRepeat, p0(s)?.garpMasterDelayUs]),
    vrrp_down_timer_adverts: r("global", "vrrp_down_timer_adverts 5", (s) => p0(s)?.downTimerAdverts),
    vrrp_lower_prio_no_advert: r("global", "vrrp_lower_prio_no_advert", (s) => p0(s)?.lowerPrioNoAdvert),
    vrrp_higher_prio_send_advert: r(
      "global",
      "vrrp_higher_prio_send_advert",
      (s) => p0(s)?.higherPrioSendAdvert,
    ),
    vrrp_version: r("global", "vrrp_version 3", (s) => p0(s)?.version),
    vrrp_check_unicast_src: r("global", "vrrp_check_unicast_src", (s) => s.instances[2]?.checkUnicastSrc),
    vrrp_skip_check_adv_addr: r("global", "vrrp_skip_check_adv_addr", (s) => inst0(s)?.skipCheckAdvAddr),
    vrrp_notify_priority_changes: c("32-notify-priority-changes"),
    notify_fifo: t(NETNS_NOTIFY, "FIFO without a reader: writes never block"),
    notify_fifo_script: t(NETNS_NOTIFY, "FIFO: created, lines read by the FIFO script"),
    vrrp_notify_fifo: t(NETNS_NOTIFY, "FIFO: created, lines read by the FIFO script"),
    vrrp_notify_fifo_script: t(NETNS_NOTIFY, "FIFO: created, lines read by the FIFO script"),
    vigil_transport: t("test/netns/parity.test.ts", "vigil_transport udp"),
    // ${_RANDOM} in the config is drawn from the runtime PRNG seeded with it
    random_seed: t("test/config/random-seed.test.ts", "draws from the runtime Prng seeded with random_seed"),
  },
  instance: {
    state: c("04-owner-immediate-master"),
    interface: c("01-startup-backup"),
    virtual_router_id: c("01-startup-backup"),
    priority: c("01-startup-backup"),
    advert_int: c("01-startup-backup"),
    version: c("17-v3-learns-interval"),
    nopreempt: c("09-nopreempt"),
    preempt: {
      reaches: {
        where: "instance",
        text: "nopreempt\npreempt",
        against: "nopreempt",
        project: (s) => p0(s)?.nopreempt,
      },
    },
    preempt_delay: c("10-preempt-delay"),
    authentication: r(
      "instance",
      "authentication {\nauth_type PASS\nauth_pass secret\n}",
      (s) => inst0(s)?.authPass,
    ),
    virtual_ipaddress: c("01-startup-backup"),
    virtual_ipaddress_excluded: t(
      "test/runtime/effect-actors.test.ts",
      "addVips carries every option and the excluded VIPs; bursts carry vrrp_garp_interval",
    ),
    // installed by the runtime's route actor from the spec's Route / Rule objects
    virtual_routes: r("instance", "virtual_routes {\n198.18.5.0/24 via 198.18.0.254 dev eth0\n}", (s) =>
      inst0(s)?.routes?.map((x) => x.text),
    ),
    virtual_rules: r("instance", "virtual_rules {\nfrom 198.18.0.101 table 100 priority 100\n}", (s) =>
      inst0(s)?.rules?.map((x) => x.text),
    ),
    unicast_src_ip: c("01-startup-backup"),
    mcast_src_ip: r("instance", "mcast_src_ip 198.18.0.33", (s) => p0(s)?.ownIp),
    mcast_dst_ip: t(RT, "mcast_dst_ip: adverts go to the configured group"),
    unicast_peer: c("35-unicast-leave-fault-garp"),
    unicast_ttl: t(RT, "unicast_ttl: unicast adverts carry it"),
    unicast_fault_no_peer: t(RT, "unicast_fault_no_peer without peers: FAULT"),
    check_unicast_src: t(RT, "check_unicast_src: a non-peer is dropped"),
    skip_check_adv_addr: t(RT, "skip_check_adv_addr: a BACKUP takes its master's adverts"),
    dont_track_primary: r("instance", "dont_track_primary", (s) => inst0(s)?.tracking.map((b) => b.tracker)),
    lower_prio_no_advert: r("instance", "lower_prio_no_advert", (s) => p0(s)?.lowerPrioNoAdvert),
    higher_prio_send_advert: r("instance", "higher_prio_send_advert", (s) => p0(s)?.higherPrioSendAdvert),
    notify_priority_changes: r("instance", "notify_priority_changes", (s) => p0(s)?.notifyPriorityChanges),
    // Vigil installs no firewall, so the VIPs always accept traffic: `accept` is what happens;
    // `no_accept` (and strict mode's implied no_accept) warn.
    accept: t("test/config/parity.test.ts", "no_accept and strict mode warn that no firewall is installed"),
    down_timer_adverts: r("instance", "down_timer_adverts 5", (s) => p0(s)?.downTimerAdverts),
    vigil_transport: t("test/netns/parity.test.ts", "vigil_transport udp"),
    garp_master_delay: c("24-garp-delay-and-refresh"),
    garp_lower_prio_delay: c("39-garp-lower-prio-delay"),
    garp_master_repeat: c("24-garp-delay-and-refresh"),
    garp_master_refresh: c("24-garp-delay-and-refresh"),
    garp_master_refresh_repeat: c("36-garp-master-refresh-repeat"),
    garp_lower_prio_repeat: r("instance", "garp_lower_prio_repeat 2", (s) => p0(s)?.garpLowerPrioRepeat),
    track_interface: r(
      "instance",
      "track_interface {\neth9 weight 10\n}",
      (s) => inst0(s)?.tracking.find((b) => b.tracker === "eth9")?.weight,
    ),
    track_script: c("19-script-weight-positive"),
    track_process: c("34-track-process-quorum"),
    track_file: c("33-track-file-weight"),
    notify_master: t(NOTIFY, "instance: notify_<state> first, then the generic script"),
    notify_backup: t(NOTIFY, "instance: notify_<state> first, then the generic script"),
    notify_fault: t(NOTIFY, "DELETED runs notify_deleted when configured, else FAULT"),
    notify_stop: t(NOTIFY, "STOP scripts are flagged for keepalived's 1 s limit"),
    notify_deleted: t(NOTIFY, "DELETED runs notify_deleted when configured, else FAULT"),
    notify_master_rx_lower_pri: t(NOTIFY, "MASTER_RX_LOWER_PRI runs only its own script"),
    notify: t(NOTIFY, "instance: notify_<state> first, then the generic script"),
  },
  script: {
    script: c("19-script-weight-positive"),
    interval: c("19-script-weight-positive"),
    timeout: t("test/trackers/script.probe.test.ts", "times out: SIGTERM to the group"),
    weight: c("19-script-weight-positive"),
    rise: c("30-script-rise-fall"),
    fall: c("30-script-rise-fall"),
    user: t(NOTIFY, "without enable_script_security: warns and reports SECURITY VIOLATION"),
    init_fail: r(
      "top",
      `vrrp_script chk2 {\nscript /bin/true\ninit_fail\n}${tracking("track_script", "chk2")}`,
      (s) => s.trackers.find((k) => k.name === "chk2")?.initFail,
    ),
  },
  process: {
    process: c("34-track-process-quorum"),
    param_match: t(PROBES, "param_match without arguments needs the command line"),
    full_command: t(PROBES, "full_command compares argv[0] only"),
    weight: r(
      "top",
      `vrrp_track_process pw {\nprocess foo\nweight 7\n}${tracking("track_process", "pw")}`,
      (s) =>
        s.instances.find((i) => i.params.name === "VI_K")?.tracking.find((b) => b.tracker === "pw")?.weight,
    ),
    quorum: c("34-track-process-quorum"),
    quorum_max: c("34-track-process-quorum"),
    delay: t(PROBES, "reports the first count at once, then verdict changes after the delay"),
    fork_delay: t(PROBES, "reports the first count at once, then verdict changes after the delay"),
    terminate_delay: t(PROBES, "reports the first count at once, then verdict changes after the delay"),
  },
  file: {
    file: c("33-track-file-weight"),
    weight: c("33-track-file-weight"),
    init_file: r(
      "top",
      `track_file tf3 {\nfile /tmp/y\ninit_file 7\n}${tracking("track_file", "tf3")}`,
      (s) => s.trackers.find((k) => k.name === "tf3")?.initValue,
    ),
  },
  sync_group: {
    group: c("27-sync-group-master-together"),
    sync_group_tracking_weight: {
      reaches: {
        where: "sync",
        text: `sync_group_tracking_weight\n${SYNC_TRACK}`,
        against: SYNC_TRACK,
        project: (s) => viS(s)?.find((b) => b.tracker === "chk9")?.weight,
      },
    },
    global_tracking: {
      reaches: {
        where: "sync",
        text: `global_tracking\n${SYNC_TRACK}`,
        against: SYNC_TRACK,
        project: (s) => viS(s)?.find((b) => b.tracker === "chk9")?.weight,
      },
    },
    track_interface: r("sync", "track_interface {\neth5\n}", (s) =>
      viS(s)?.some((b) => b.tracker === "eth5"),
    ),
    track_script: r("sync", SYNC_TRACK, (s) => viS(s)?.some((b) => b.tracker === "chk9")),
    track_process: r("sync", "track_process {\npq\n}", (s) => viS(s)?.some((b) => b.tracker === "pq")),
    track_file: c("37-sync-group-weighted-file-ignored"),
    notify_master: t(NOTIFY, "instance: notify_<state> first, then the generic script"),
    notify_backup: t(NOTIFY, "instance: notify_<state> first, then the generic script"),
    notify_fault: t(NOTIFY, "DELETED runs notify_deleted when configured, else FAULT"),
    notify_stop: t(NOTIFY, "STOP scripts are flagged for keepalived's 1 s limit"),
    notify: t(NOTIFY, "instance: notify_<state> first, then the generic script"),
  },
};

const TABLES: Readonly<Record<string, KeywordTable<never>>> = {
  top: topKeywords as KeywordTable<never>,
  global: globalKeywords as KeywordTable<never>,
  instance: instanceKeywords as KeywordTable<never>,
  script: scriptKeywords as KeywordTable<never>,
  process: processKeywords as KeywordTable<never>,
  file: fileKeywords as KeywordTable<never>,
  sync_group: syncGroupKeywords as KeywordTable<never>,
};

const NOT_ACTED = (kw: string) => `'${kw}' is parsed but not acted on by Vigil yet`;

/** Runs a keyword's handler on `KEYWORD` alone and returns the warnings it gives. */
const warningsOf = (kw: string, table: KeywordTable<never>): string[] => {
  const diags = new Diagnostics();
  const keyword = { text: kw, quoted: false, file: "k.conf", line: 1, column: 1 };
  const state = new Proxy({} as Record<string | symbol, unknown>, {
    get: (o, k) => {
      if (!(k in o)) o[k] = [];
      return o[k];
    },
  });
  try {
    table[kw]?.handle({ diags }, { keyword, args: [], block: null }, state as never);
  } catch {
    // a handler that needs real state is not one of the warned keywords
  }
  return diags.list.filter((d) => d.severity === "warning").map((d) => d.message);
};

const BASE = `
global_defs {
  enable_script_security
  __GLOBAL__
}
vrrp_script chk9 {
  script /bin/true
}
vrrp_track_process pq {
  process foo
}
__TOP__
vrrp_sync_group G9 {
  group {
    VI_S
    VI_T
  }
  __SYNC__
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    198.18.0.101/24
  }
  __INSTANCE__
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 6
  virtual_ipaddress {
    fe80::6/64
  }
}
vrrp_instance VI_U {
  interface eth0
  virtual_router_id 7
  unicast_src_ip 198.18.0.1
  unicast_peer {
    198.18.0.2
  }
  virtual_ipaddress {
    198.18.0.107/24
  }
}
vrrp_instance VI_T {
  interface eth0
  virtual_router_id 10
  virtual_ipaddress {
    198.18.0.110/24
  }
}
vrrp_instance VI_S {
  interface eth0
  virtual_router_id 9
  virtual_ipaddress {
    198.18.0.109/24
  }
}
`;

const specOf = (reach?: Reach): NodeSpec => {
  const fill = (slot: Reach["where"]) => (reach?.where === slot ? reach.text : "");
  const text = BASE.replace("__GLOBAL__", fill("global"))
    .replace("__TOP__", fill("top"))
    .replace("__SYNC__", fill("sync"))
    .replace("__INSTANCE__", fill("instance"));
  const r = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) });
  // What `vigil run` runs: a tolerated error (global_tracking's deprecation) leaves it runnable.
  const runnable = r.runnable;
  if (runnable === undefined)
    throw new Error(`config rejected: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  // VI_S is the sync group's member: keep the order predictable for the projections
  const config = {
    ...runnable,
    instances: [...runnable.instances].sort((a, b) => (a.name === "VI_S" ? -1 : b.name === "VI_S" ? 1 : 0)),
  };
  const spec = specFromConfig(config, { primaryAddress: (_i, f) => (f === 4 ? "198.18.0.1" : "fe80::1") });
  // projections index VI_1, VI_6, VI_U in that order; VI_S first only for the sync block
  if (reach?.where === "sync") return spec;
  return {
    ...spec,
    instances: spec.instances.filter((i) => i.params.name !== "VI_S" && i.params.name !== "VI_T"),
  };
};

describe("config ↔ runtime parity: every keyword is acted on or warned", () => {
  for (const [block, table] of Object.entries(TABLES)) {
    it(`${block}: every keyword has a proof or a 'parsed but not acted on' warning`, () => {
      const silent: string[] = [];
      for (const kw of Object.keys(table)) {
        if (block === "top" && kw === "virtual_server") continue; // LVS: the block test below
        const warned = warningsOf(kw, table).some((m) => m.includes(NOT_ACTED(kw)));
        const proof = PROOF[block]?.[kw];
        if (warned && proof !== undefined)
          throw new Error(`${block}.${kw}: warned as not acted on, yet listed as proven`);
        if (!warned && proof === undefined) silent.push(kw);
      }
      expect(silent, `${block}: keywords neither proven acted on nor warned`).toEqual([]);
      for (const kw of Object.keys(PROOF[block] ?? {}))
        expect(Object.hasOwn(table, kw), `${block}.${kw} is a keyword`).toBe(true);
    });
  }

  it("every named proof exists: the test title is in its file, the conformance case uses the keyword", () => {
    for (const [block, proofs] of Object.entries(PROOF))
      for (const [kw, proof] of Object.entries(proofs)) {
        if ("file" in proof) {
          const text = readFileSync(proof.file, "utf8");
          expect(text.includes(proof.title), `${block}.${kw}: "${proof.title}" in ${proof.file}`).toBe(true);
        } else if ("case" in proof) {
          const conf = readFileSync(`test/conformance/cases/${proof.case}/keepalived.conf`, "utf8");
          expect(new RegExp(`(^|\\s)${kw}(\\s|$)`, "m").test(conf), `${block}.${kw} in ${proof.case}`).toBe(
            true,
          );
        }
      }
  });

  it("every 'reaches' keyword changes the NodeSpec the runtime is built from", () => {
    for (const [block, proofs] of Object.entries(PROOF))
      for (const [kw, proof] of Object.entries(proofs)) {
        if (!("reaches" in proof)) continue;
        const before = JSON.stringify(
          proof.reaches.project(specOf({ ...proof.reaches, text: proof.reaches.against ?? "" })),
        );
        const after = JSON.stringify(proof.reaches.project(specOf(proof.reaches)));
        expect(after, `${block}.${kw}`).not.toBe(before);
        expect(after, `${block}.${kw} reaches the spec`).not.toBe(undefined);
      }
  });

  it("no_accept and strict mode warn that no firewall is installed", () => {
    expect(warningsOf("no_accept", TABLES.instance as KeywordTable<never>).join("\n")).toContain(
      "'no_accept' is parsed but not acted on by Vigil yet (no firewall rules",
    );
    expect(warningsOf("strict_mode", TABLES.instance as KeywordTable<never>).join("\n")).toContain(
      NOT_ACTED("strict_mode"),
    );
    expect(warningsOf("vrrp_strict", TABLES.global as KeywordTable<never>).join("\n")).toContain(
      NOT_ACTED("vrrp_strict"),
    );
  });

  it("LVS: virtual_server is acted on (src/lvs, src/runtime/checkers.ts); what is not says so keyword by keyword", () => {
    const text =
      "virtual_server 198.18.0.200 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 198.18.0.201 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n";
    const r = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) });
    expect(r.diagnostics.map((d) => d.message)).toEqual([]);
    const bindIf =
      "virtual_server 198.18.0.200 80 {\n  real_server 198.18.0.201 80 {\n    TCP_CHECK {\n      bind_if eth0\n    }\n  }\n}\n";
    const w = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": bindIf }) });
    expect(w.diagnostics.map((d) => d.message).join("\n")).toMatch(/bind_if.*not acted on/);
    // the tables inside virtual_server are only reached through it
    for (const table of [virtualServerKeywords, realServerKeywords, checkerKeywords])
      expect(Object.keys(table).length).toBeGreaterThan(0);
  });
});
