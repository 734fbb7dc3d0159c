/**
 * Numbers read as keepalived 2.2.7's daemon reads them (`vigil run`), against the real daemon: a
 * keyword whose handler reads with `ignore_error` reports a number with junk after its digits as
 * `WARNING - invalid number 'X'` and then uses the digits (`garp_master_repeat 7x` is 7, `abc` is 0
 * where 0 is allowed); the others (`priority 50x`) report it and keep their default, as under
 * `keepalived -t`, which uses none of them (`vigil check`). keepalived runs in a private namespace
 * with `-d` and is killed by PID once it has dumped its configuration; its messages on the keyword
 * lines and the values its dump shows are compared with `loadConfig(file, { daemon: true })`.
 * skipUnlessLab. Not pure.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { skipUnlessLab } from "../support/env.ts";
import { makeKeepalivedNs, runQuiet, spawnKeepalivedOn } from "./keepalived-t.ts";

const LINES = [
  "global_defs {",
  "    enable_script_security",
  "    script_user root",
  "    vrrp_garp_master_repeat 6x",
  "    vrrp_garp_lower_prio_delay 2x",
  "}",
  "vrrp_script chk {",
  '    script "/bin/true"',
  "    interval 7x",
  "    timeout 4x",
  "    rise 2x",
  "    fall 3x",
  "    weight 9x",
  "}",
  "vrrp_instance VI_0 {",
  "    state BACKUP",
  "    interface eth0",
  "    virtual_router_id 1",
  "    priority 50x",
  "    advert_int 40",
  "    version 3x",
  "    garp_master_repeat 7x",
  "    garp_master_delay 3x",
  "    garp_master_refresh 4x",
  "    down_timer_adverts 5x",
  "    garp_lower_prio_repeat abc",
  "    garp_master_refresh_repeat -2",
  "    track_script {",
  "        chk weight 11x",
  "    }",
  "    virtual_ipaddress {",
  "        198.18.7.1/32",
  "        198.18.7.2/24x",
  "        198.18.7.3/x",
  "    }",
  "}",
];
/** The lines with a number on them, a VIP's prefix included (1-based). */
const NUMBER_LINES = LINES.flatMap((l, i) => (/ -?\w*\dx?$| abc$|\/\w*$/.test(l) ? [i + 1] : []));

/** keepalived's dump, as `field = value` per section (`global`, `VI_0`, `chk`). */
function parseDump(out: string): Map<string, string> {
  const fields = new Map<string, string>();
  let section = "global";
  for (const raw of out.split("\n")) {
    const line = raw.replace(/^.*? \d{4}: /, "");
    const inst = /^ VRRP Instance = (\S+)$/.exec(line) ?? /^ VRRP Script = (\S+)$/.exec(line);
    if (inst !== null) section = inst[1] as string;
    const kv = /^ +([A-Za-z][A-Za-z ]*?) = (.*)$/.exec(line);
    if (kv !== null && !fields.has(`${section}: ${kv[1]}`))
      fields.set(`${section}: ${kv[1]}`, kv[2] as string);
    const vip = /^ {5}(198\.18\.7\.\d+(?:\/\d+)?) dev /.exec(line);
    if (vip !== null && section === "VI_0")
      fields.set("VI_0: VIPs", [fields.get("VI_0: VIPs"), vip[1]].filter((x) => x !== undefined).join(" "));
    const tracked = /^ {5}chk weight (-?\d+)/.exec(line);
    if (tracked !== null && section === "VI_0") fields.set("VI_0: chk weight", tracked[1] as string);
  }
  return fields;
}

const suite = "numbers read as keepalived 2.2.7's daemon reads them (vigil run)";

describe.skipIf(skipUnlessLab(suite, { keepalived: true, netns: true }))(suite, () => {
  const ns = `vg${process.pid % 10000}c-dn`;
  // made in beforeAll, so a run that filters these tests out leaves nothing behind
  let dir = "";
  let file = "";
  let output = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vigil-daemon-numbers-"));
    file = join(dir, "keepalived.conf");
    writeFileSync(file, `${LINES.join("\n")}\n`);
    await makeKeepalivedNs(ns);
    const run = spawnKeepalivedOn(ns, file, (n) => join(dir, `d-${n}`), ["-n", "-l", "-D", "-d", "-P"]);
    try {
      for (let t = 0; t < 100 && !/VRRP Script = chk[\s\S]*Fall = /.test(run.output()); t++)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      if (run.child.pid !== undefined) process.kill(-run.child.pid, "SIGKILL");
    }
    output = run.output();
  }, 30_000);
  afterAll(async () => {
    await runQuiet("ip", ["netns", "del", ns]);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("reports on each number line what keepalived's daemon reports there", () => {
    const located = new Set(
      output.split("\n").flatMap((raw) => {
        const m = /\((?:[^)]*: )?Line (\d+)\) (.*)$/.exec(raw.trim());
        return m === null || !NUMBER_LINES.includes(Number(m[1])) ? [] : [`${m[1]} ${m[2]}`];
      }),
    );
    const vigil = loadConfig(file, { daemon: true })
      .diagnostics.filter((d) => NUMBER_LINES.includes(d.line))
      .map((d) => `${d.line} ${d.message}`);
    expect([...new Set(vigil)].sort()).toEqual([...located].sort());
    expect([...located].filter((l) => l.includes("WARNING - invalid number")).length).toBeGreaterThanOrEqual(
      12,
    );
  });

  it("uses the values keepalived's daemon dumps; vigil check's reading (keepalived -t) uses none", () => {
    const dump = parseDump(output);
    const seconds = (us: number | undefined): string => `${(us ?? 0) / 1e6}`;
    const read = (daemon: boolean): Record<string, string> => {
      const c = loadConfig(file, { daemon }).runnable;
      const i = c?.instances.find((x) => x.name === "VI_0");
      const s = c?.scripts.find((x) => x.name === "chk");
      return {
        "global: Gratuitous ARP repeat": `${c?.global.garp.masterRepeat}`,
        "global: Gratuitous ARP lower priority delay": seconds(c?.global.garp.lowerPrioDelayUs),
        "VI_0: VRRP Version": `${i?.version}`,
        "VI_0: Priority": `${i?.basePriority}`,
        "VI_0: Gratuitous ARP repeat": `${i?.garp.masterRepeat}`,
        "VI_0: Gratuitous ARP delay": seconds(i?.garp.masterDelayUs),
        "VI_0: Gratuitous ARP refresh": seconds(i?.garp.masterRefreshUs),
        "VI_0: Gratuitous ARP refresh repeat": `${i?.garp.masterRefreshRepeat}`,
        "VI_0: Gratuitous ARP lower priority repeat": `${i?.garp.lowerPrioRepeat}`,
        "VI_0: Down timer adverts": `${i?.downTimerAdverts}`,
        "VI_0: chk weight": `${i?.trackScripts.find((r) => r.name === "chk")?.weight}`,
        // keepalived's dump leaves out a /32
        "VI_0: VIPs": (i?.vips ?? [])
          .map((v) => (v.prefixLength === 32 ? v.address : `${v.address}/${v.prefixLength}`))
          .join(" "),
        "chk: Interval": `${seconds(s?.intervalUs)} sec`,
        "chk: Timeout": `${seconds(s?.timeoutUs)} sec`,
        "chk: Weight": `${s?.weight}`,
        "chk: Rise": `${s?.rise}`,
        "chk: Fall": `${s?.fall}`,
      };
    };
    const daemon = read(true);
    const keepalived = Object.fromEntries(Object.keys(daemon).map((k) => [k, dump.get(k)]));
    expect(daemon).toEqual(keepalived);
    // the -t reading keeps the defaults: only the priority (no ignore_error) reads the same
    const check = read(false);
    const same = Object.keys(daemon).filter((k) => daemon[k] === check[k]);
    expect(same.sort()).toEqual(
      ["VI_0: Priority", "VI_0: Gratuitous ARP refresh repeat", "chk: Weight"].sort(),
    );
  });
});
