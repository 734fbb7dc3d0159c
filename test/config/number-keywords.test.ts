/**
 * Keywords taking a number or an address (VRRP and LVS), against the real `keepalived -t` (2.2.7): each keyword ×
 * each word of WORDS on its own line of a configuration keepalived otherwise reads cleanly (BASE of
 * bool-keywords.ts), and the messages keepalived prints for that line are the ones `vigil check`
 * reports there — the number reader's (`invalid number`, `negative number`, `outside unsigned
 * integer range`, `has too many decimal places`, ranges) and the keyword's own, in keepalived's
 * words — for the process-tuning globals Vigil does not act on too. And every keyword of every
 * table written without its value. Vigil-only notes ("parsed but not acted on") are left out.
 * Lab: root, netns, keepalived.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { globalKeywords } from "../../src/config/keywords/global.ts";
import { instanceKeywords } from "../../src/config/keywords/instance.ts";
import { checkerKeywords, realServerKeywords, virtualServerKeywords } from "../../src/config/keywords/lvs.ts";
import { processKeywords, scriptKeywords, syncGroupKeywords } from "../../src/config/keywords/trackers.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { KeywordTable } from "../../src/config/values.ts";
import { skipUnlessLab } from "../support/env.ts";
import { configWith, type Slot } from "./bool-keywords.ts";
import { inPool, keepalivedTest, makeKeepalivedNs, runQuiet } from "./keepalived-t.ts";

const KEYWORDS: Readonly<Partial<Record<Slot, readonly string[]>>> = {
  instance: [
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "preempt_delay",
    "unicast_ttl",
    "down_timer_adverts",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "garp_extra_if",
    "debug",
    "kernel_rx_buf_size",
    "mcast_src_ip",
    "unicast_src_ip",
    "mcast_dst_ip",
    "old_unicast_checksum",
    "linkbeat_use_polling",
    "lvs_sync_daemon_interface",
    // block keywords with words before their block
    "track_bfd",
    "virtual_routes",
    "virtual_rules",
  ],
  global: [
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_extra_if",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_startup_delay",
    "vrrp_down_timer_adverts",
    "vrrp_version",
    "random_seed",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_priority",
    "checker_priority",
    "max_auto_priority",
    "min_auto_priority_delay",
    "vrrp_rt_priority",
    "vrrp_rlimit_rttime",
    "nftables_priority",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs",
    "process_monitor_rcv_bufs",
    "vrrp_rx_bufs_multiplier",
    "vrrp_rx_bufs_policy",
    "smtp_connect_timeout",
    "startup_script_timeout",
    "shutdown_script_timeout",
    "umask",
  ],
  script: ["interval", "timeout", "rise", "fall", "weight"],
  process: ["quorum", "quorum_max", "delay", "fork_delay", "terminate_delay", "weight"],
  vs: [
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "connect_timeout",
    "persistence_timeout",
    "quorum",
    "hysteresis",
    "protocol",
    "lvs_method",
    "lb_kind",
    "sorry_server",
  ],
  rs: [
    "weight",
    "retry",
    "uthreshold",
    "lthreshold",
    "delay_loop",
    "warmup",
    "delay_before_retry",
    "connect_timeout",
    "lvs_method",
  ],
  tcp: ["connect_port", "bind_port", "retry", "delay_before_retry", "warmup", "fwmark", "connect_timeout"],
  http: ["nb_get_retry"],
  misc: ["misc_timeout"],
};

/** Words for every keyword: junk, signs, zero, bounds of 32 bits, decimals, addresses, quoting. */
const WORDS = [
  "abc",
  "-1",
  "-0",
  "0",
  "1",
  "+7",
  "300",
  "1x",
  "1.5",
  "2.1234567",
  "0.0000005",
  "99999999999",
  "2147483648",
  "4294967296",
  "never",
  "all 5",
  "198.18.0.1",
  "224.0.0.20",
  "ff02::20",
  "ff05::20",
  '"  5"',
];

/**
 * Where keepalived's message has no line to compare: the family of an instance comes from the
 * first address it reads (here a source address before the VIPs, so the VIP is the one refused,
 * on its own line), and the VRRPv2 rounding of a fractional advert_int is reported after parsing.
 */
const SKIP: ReadonlyArray<readonly [string, string]> = [
  ["instance mcast_src_ip", "ff02::20"],
  ["instance mcast_src_ip", "ff05::20"],
  ["instance unicast_src_ip", "ff02::20"],
  ["instance unicast_src_ip", "ff05::20"],
];
const UNLOCATED_IN_KEEPALIVED = /VRRPv2 advertisement interval .* must be an integer. rounding$/;

/** The forwarding method's tunnel options (svr_forwarding_handler), for the method keywords only. */
const METHOD_WORDS = [
  "NAT weight",
  "DR port 1",
  "NAT csum",
  "TUN type",
  "TUN port",
  "TUN type foo",
  "TUN type gue",
  "TUN port 99999",
  "TUN type gre",
  "TUN type gue port 5000 csum",
  "TUN type gue port 5000 remcsum",
  "TUN type ipip csum",
  "TUN type gre remcsum",
  "TUN nocsum",
];
/** Words of the process-tuning globals: nice and real-time bounds, buffer policies, umasks. */
const GLOBAL_WORDS = [
  "-21",
  "19",
  "100",
  "MTU",
  "mtu ADVERT",
  "MTU 5",
  "5 MTU",
  "IRUSR|IWGRP",
  "IRUSRIWGRP",
  "IRUSR|",
  "0777",
  "0x1ff",
  "01000",
  "022 5",
  "BOGUS",
];
const wordsOf = (slot: string, kw: string): readonly string[] =>
  kw === "lvs_method" || kw === "lb_kind"
    ? [...WORDS, ...METHOD_WORDS]
    : slot === "global" && !kw.includes("garp") && !kw.includes("mcast")
      ? [...WORDS, ...GLOBAL_WORDS]
      : WORDS;

const cases = Object.entries(KEYWORDS).flatMap(([slot, kws]) =>
  (kws ?? []).flatMap((kw) =>
    wordsOf(slot, kw)
      .filter((w) => !SKIP.some(([k, sw]) => k === `${slot} ${kw}` && sw === w))
      .map((w) => ({
        slot: slot as Slot,
        kw,
        w,
      })),
  ),
);

/**
 * Every keyword of the tables BASE has a slot for, written without its value: keepalived's parser
 * stops on some ("missing a parameter"), its handlers report others and go on, and some say nothing.
 * `vigil_transport` is Vigil's own keyword (keepalived does not know it).
 */
const TABLES: ReadonlyArray<readonly [Slot, KeywordTable<never>]> = [
  ["global", globalKeywords as KeywordTable<never>],
  ["instance", instanceKeywords as KeywordTable<never>],
  ["script", scriptKeywords as KeywordTable<never>],
  ["process", processKeywords as KeywordTable<never>],
  ["sync", syncGroupKeywords as KeywordTable<never>],
  ["vs", virtualServerKeywords as KeywordTable<never>],
  ["rs", realServerKeywords as KeywordTable<never>],
  ["tcp", checkerKeywords.TCP_CHECK as KeywordTable<never>],
  ["http", checkerKeywords.HTTP_GET as KeywordTable<never>],
  ["misc", checkerKeywords.MISC_CHECK as KeywordTable<never>],
];
const bareCases = TABLES.flatMap(([slot, table]) =>
  Object.entries(table)
    .filter(([kw, spec]) => spec.block !== true && kw !== "vigil_transport")
    .map(([kw]) => ({ slot, kw, w: "" })),
);

const suite = "number and address keywords: keepalived -t's messages per line are vigil check's";

describe.skipIf(skipUnlessLab(suite, { keepalived: true, netns: true }))(suite, () => {
  const ns = `vg${process.pid % 10000}c-nk`;
  const root = mkdtempSync(join(tmpdir(), "vigil-nk-"));
  beforeAll(() => makeKeepalivedNs(ns));
  afterAll(async () => {
    await runQuiet("ip", ["netns", "del", ns]);
    rmSync(root, { recursive: true, force: true });
  });

  const compare = async (
    label: string,
    cases: ReadonlyArray<{ slot: Slot; kw: string; w: string }>,
  ): Promise<number> => {
    const files = cases.map((c, i) => {
      const { text, lineNos } = configWith({ [c.slot]: [c.w === "" ? c.kw : `${c.kw} ${c.w}`] });
      const dir = join(root, `${label}${i}`);
      mkdirSync(dir);
      const file = join(dir, "keepalived.conf");
      writeFileSync(file, text);
      return { file, line: lineNos[c.slot]?.[0] ?? 0 };
    });
    const runs = await inPool(files, 3, (f, slot) => {
      const pidDir = join(root, `${label}pid${slot}`);
      mkdirSync(pidDir, { recursive: true });
      return keepalivedTest(ns, f.file, pidDir);
    });
    // Lines are compared, not runs: BASE's MISC_CHECK makes every run print a line about this host.
    const differ: string[] = [];
    let complained = 0;
    cases.forEach((c, i) => {
      const { file, line } = files[i] as { file: string; line: number };
      const k = [
        ...new Set(
          (runs[i]?.located ?? [])
            .filter((l) => Number(l.split(" ")[0]) === line)
            .map((l) => l.replace(/^\d+ /, "")),
        ),
      ].sort();
      if (k.length > 0) complained++;
      const v = [
        ...new Set(
          loadConfig(file, { configId: "lb1" })
            .diagnostics.filter(
              (d) => d.line === line && d.kind !== "unsupported" && !UNLOCATED_IN_KEEPALIVED.test(d.message),
            )
            .map((d) => d.message),
        ),
      ].sort();
      if (JSON.stringify(k) !== JSON.stringify(v))
        differ.push(
          `${c.slot} ${c.kw} ${c.w}\n  keepalived: ${k.join(" | ")}\n  vigil:      ${v.join(" | ")}`,
        );
    });
    expect(differ).toEqual([]);
    return complained;
  };

  it(`${cases.length} keyword × word lines`, { timeout: 300_000 }, async () => {
    // keepalived was run and read: most of these lines draw a message from it.
    expect(await compare("w", cases)).toBeGreaterThan(cases.length / 2);
  });

  it(`${bareCases.length} keywords without their value`, { timeout: 300_000 }, async () => {
    expect(await compare("b", bareCases)).toBeGreaterThan(30);
  });
});
