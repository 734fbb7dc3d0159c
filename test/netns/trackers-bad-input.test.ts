/**
 * Bad tracker input on a real host, Vigil next to keepalived 2.2.7 with the same configuration (one
 * lab each, run at the same time): a tracked vrrp_script whose path does not exist (weight 0: were
 * it kept, the instance could never leave FAULT), a script that never exits (timeout 1, weight −10),
 * a track_file with non-numeric content that is then deleted and re-created with a number, a
 * tracked process that never appears (weight −5), and a track_interface that does not exist at
 * start (weight 0) and appears later. Each must be handled as keepalived does — the same state and
 * effective-priority lines, the same priorities on the wire, the same explanatory log lines — with
 * no crash, and after stop no script process (by PID), no watcher and no inotify watch left.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess } from "../support/lab.ts";
import { parseTcpdumpVrrp, sleepMs } from "./support/differential.ts";
import { startScript } from "./support/vigil.ts";

const suite = "netns: bad tracker input, Vigil vs keepalived 2.2.7";

interface Result {
  readonly out: string;
  readonly prios: number[];
  readonly states: string[];
  readonly dir: string;
  readonly marker: string;
}

const conf = (
  dir: string,
  net: string,
  proc: string,
  marker: string,
  dynamic = true,
  trackIf = "vgdummy0",
): string =>
  [
    `global_defs {\n    router_id bad\n    enable_script_security\n    script_user root\n${dynamic ? "    dynamic_interfaces\n" : ""}}`,
    `vrrp_script missing {\n    script "${dir}/nope/missing.sh"\n    interval 1\n    weight 0\n}`,
    `vrrp_script hang {\n    script "${dir}/hang.sh ${marker}"\n    interval 1\n    timeout 1\n    weight -10\n}`,
    `vrrp_track_process never {\n    process ${proc}\n    weight -5\n}`,
    `track_file bad {\n    file ${dir}/bad\n    weight -1\n}`,
    "vrrp_instance VI_1 {",
    "    state BACKUP",
    "    interface eth0",
    "    virtual_router_id 52",
    "    priority 150",
    "    advert_int 1",
    "    track_script {\n        missing\n        hang\n    }",
    "    track_process {\n        never\n    }",
    "    track_file {\n        bad\n    }",
    `    track_interface {\n        ${trackIf}\n    }`,
    `    virtual_ipaddress {\n        ${net}.100/24\n    }`,
    "}",
    "",
  ].join("\n");

async function scenario(lab: Lab, daemon: "vigil" | "keepalived"): Promise<Result> {
  const h = lab.host(1);
  const net = `198.18.${lab.subnet}`;
  const dir = lab.tempDir();
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "nope"), { mode: 0o755 });
  const marker = `1000.${process.pid}${lab.subnet}`;
  writeFileSync(join(dir, "hang.sh"), "#!/bin/sh\nsleep $1\n", { mode: 0o755 });
  writeFileSync(join(dir, "bad"), "abc\n");
  const text = conf(dir, net, `vgnv${process.pid % 100000}`, marker);
  writeFileSync(join(dir, "k.conf"), text);
  const wire = await lab.tcpdump(h, ["-tt"]);
  const proc: LabProcess =
    daemon === "vigil"
      ? startScript(lab, h.ns, "tracker-node.ts", [join(dir, "k.conf"), join(dir, "journal.jsonl")])
      : lab.keepalived(h, text).proc;
  const waitOut = (re: RegExp, ms = 12_000) => proc.waitForOutput(re, ms);
  // vgdummy0 (track_interface, weight 0) does not exist yet: FAULT until it appears and is up.
  await waitOut(/\(VI_1\):? entering FAULT state/i);
  await sleepMs(1_500);
  await lab.nsRun(h.ns, "ip", ["link", "add", "vgdummy0", "type", "veth", "peer", "name", "vgdummy1"]);
  await lab.nsRun(h.ns, "ip", ["link", "set", "vgdummy1", "up"]);
  await lab.nsRun(h.ns, "ip", ["link", "set", "vgdummy0", "up"]);
  await waitOut(/\(VI_1\) Entering MASTER STATE/);
  await sleepMs(1_500);
  writeFileSync(join(dir, "bad"), "xyz\n"); // still non-numeric: 0
  await sleepMs(600);
  unlinkSync(join(dir, "bad"));
  await sleepMs(600);
  writeFileSync(join(dir, "bad"), "7\n");
  await sleepMs(2_500);
  await proc.stop("SIGTERM", 8_000);
  await sleepMs(500); // tcpdump prints the stopping master's priority-0 advert a moment later
  const out = proc.output;
  const states = out
    .split("\n")
    .map(
      (l) =>
        /\(VI_1\):? ((?:e|E)ntering \w+ (?:STATE|state).*|Changing effective priority from \d+ to \d+)$/.exec(
          l,
        )?.[1],
    )
    .filter((l): l is string => l !== undefined);
  const prios: number[] = [];
  for (const p of parseTcpdumpVrrp(wire.stdout))
    if (p.src === h.ipv4 && prios.at(-1) !== p.prio) prios.push(p.prio);
  return { out, prios, states, dir, marker };
}

describe.skipIf(skipUnlessLab(suite, { netns: true, tcpdump: true, keepalived: true }))(suite, () => {
  const labs: Lab[] = [];
  let vigil: Result;
  let ka: Result;

  beforeAll(async () => {
    const base = `vg${process.pid % 1000}bi`;
    const [v, k] = await Promise.all(
      (["vigil", "keepalived"] as const).map(async (d) => {
        const lab = await Lab.create({ prefix: `${base}${d[0]}`, hosts: 1 });
        labs.push(lab);
        return scenario(lab, d);
      }),
    );
    vigil = v as Result;
    ka = k as Result;
  }, 60_000);

  afterAll(async () => {
    if (vigil !== undefined) dumpForInspection("trackers-bad-input vigil", vigil.out);
    if (ka !== undefined) dumpForInspection("trackers-bad-input keepalived", ka.out);
    await Promise.all(labs.map((l) => l.destroy()));
  });

  it("moves state and priority exactly as keepalived does", () => {
    console.log("keepalived", JSON.stringify(ka.states), JSON.stringify(ka.prios));
    console.log("vigil", JSON.stringify(vigil.states), JSON.stringify(vigil.prios));
    expect(vigil.prios).toEqual(ka.prios);
    const fromBackup = (l: string[]) => l.slice(l.indexOf("Entering BACKUP STATE"));
    expect(fromBackup(vigil.states)).toEqual(fromBackup(ka.states));
  });

  // keepalived logs the initial FAULT as `(VI_1): entering FAULT state (interface vgdummy0 down)`,
  // the start-up priority line, then `(VI_1) entering FAULT state` (vrrp_complete_init).
  it("logs the initial FAULT with keepalived's lines", () => {
    expect(vigil.states.slice(0, 4)).toEqual(ka.states.slice(0, 4));
  });

  it("explains each bad input with keepalived's log line", () => {
    for (const line of [
      "Disabling track script missing since not found/accessible",
      "VRRP_Script(hang) timed_out",
      "Configuration specifies interface vgdummy0 which doesn't currently exist - will use if created",
    ]) {
      expect(ka.out, `keepalived: ${line}`).toContain(line);
      expect(vigil.out, `vigil: ${line}`).toContain(line);
    }
  });

  it("without dynamic_interfaces a missing track_interface stops the daemon at start, as keepalived", async () => {
    const lab = labs[0] as Lab;
    const dir = lab.tempDir();
    chmodSync(dir, 0o755);
    // An interface no scenario creates (vgdummy0 exists in this lab by now).
    const text = conf(dir, "198.18.0", "vgnv0", "1000.1", false, "vgabsent0");
    writeFileSync(join(dir, "k.conf"), text);
    const v = startScript(lab, lab.host(1).ns, "tracker-node.ts", [
      join(dir, "k.conf"),
      join(dir, "j.jsonl"),
    ]);
    const k = lab.keepalived(lab.host(1), text).proc;
    const [vc, kc] = await Promise.all([
      v.waitExit(20_000).catch((e: unknown) => {
        throw new Error(`${String(e)}\n--- vigil output:\n${v.output}`);
      }),
      k.waitExit(20_000),
    ]);
    for (const line of [
      "(VI_1) tracked interface vgabsent0 doesn't exist",
      "Non-existent interface specified in configuration",
    ]) {
      expect(k.output).toContain(line);
      expect(v.output).toContain(line);
    }
    expect(kc).not.toBe(0);
    expect(vc).toBe(1);
    expect(v.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  }, 30_000);

  it("leaves no script process, watcher or inotify watch after stop", () => {
    expect(vigil.out).toMatch(/^leftover watchers=0 inotify=0 children=0$/m);
    expect(vigil.out).toMatch(/^stopped$/m);
    const hung = readdirSync("/proc").filter((n) => {
      if (!/^\d+$/.test(n)) return false;
      try {
        return readFileSync(`/proc/${n}/cmdline`, "latin1").includes(vigil.marker);
      } catch {
        return false;
      }
    });
    expect(hung).toEqual([]);
  });
});
