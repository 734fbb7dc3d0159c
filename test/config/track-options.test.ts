/**
 * Track lines (`track_interface`, `track_script`, `track_process`, `track_file`: `NAME [weight W
 * [reverse|noreverse]]`) and the trackers' own `weight W [reverse]` lines against the real
 * keepalived 2.2.7, one instance per line shape: the
 * messages `keepalived -t` prints for each line are the ones `vigil check` gives for it, and the
 * weight and direction keepalived's own configuration dump (`-d`) shows for each instance — or the
 * line's absence, where keepalived drops it — are what Vigil resolved (`runnable`: what `vigil run`
 * starts on). keepalived runs in a private namespace (keepalived-t.ts), as BACKUP with a 255 s
 * advert interval, killed by PID once it has dumped. skipUnlessLab. Not pure.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { skipUnlessLab } from "../support/env.ts";
import { keepalivedTest, makeKeepalivedNs, runQuiet, spawnKeepalivedOn } from "./keepalived-t.ts";

type Kind = "interface" | "script" | "process" | "file";

/** Each line gets its own instance. Trackers: chk (-20 reverse), chk2 (5), tp (7 reverse), tf (3 reverse). */
const CASES: ReadonlyArray<readonly [Kind, string]> = [
  ["script", "chk"],
  ["script", "chk weight -10"],
  ["script", "chk weight -10 noreverse"],
  ["script", "chk2 weight 7 reverse"],
  ["script", "chk2 weight 7"],
  ["script", "chk reverse"],
  ["script", "chk +3"],
  ["script", "chk weight"],
  ["script", "chk weight 254"],
  ["script", "chk weight -254"],
  ["script", "chk weight 300"],
  ["script", "chk weight 4 bogus"],
  ["script", "chk weight 4 reverse extra words"],
  ["script", "chk weight 4 noreverse reverse"],
  ["interface", "eth1"],
  ["interface", "eth1 weight 10"],
  ["interface", "eth1 weight -10 reverse"],
  ["interface", "eth1 weight 10 noreverse"],
  ["interface", "eth1 weight 10 no_reverse"],
  ["interface", "eth1 reverse"],
  ["interface", "eth1 weight"],
  ["interface", "eth1 weight 254"],
  ["interface", "eth1 weight -300 reverse"],
  ["process", "tp"],
  ["process", "tp weight 3"],
  ["process", "tp weight 254 noreverse"],
  ["process", "tp weight -254"],
  ["process", "tp reverse"],
  ["process", "tp weight -255"],
  ["process", "tp weight 2 bogus"],
  ["file", "tf"],
  ["file", "tf weight 2"],
  ["file", "tf weight 254"],
  ["file", "tf weight 2 noreverse"],
  ["file", "tf weight 2 bogus"],
  ["file", "tf weight"],
  ["file", "tf bogus"],
];

/**
 * Trackers whose own `weight` lines are odd, each tracked plainly by an instance of its own (so the
 * dump shows the weight and direction the definition gave). Not here: a bad W where keepalived's
 * daemon reads more than `keepalived -t` does (`strtol`'s prefix: a file's `x`), which Vigil reads as
 * `-t` does. A script keeps `(int)strtol` of any W in both: 300, and -99999999999 cut to 32 bits.
 */
const DEFS: ReadonlyArray<readonly [Exclude<Kind, "interface">, string, readonly string[]]> = [
  ["script", "s_noreverse", ["weight 5 no_reverse"]],
  ["script", "s_bogus", ["weight -5 bogus"]],
  ["script", "s_abc", ["weight abc"]],
  ["script", "s_prefix", ["weight 12x reverse"]],
  ["script", "s_twice", ["weight 7 reverse", "weight 3"]],
  ["script", "s_range", ["weight 300 reverse"]],
  ["script", "s_wide", ["weight -99999999999"]],
  ["process", "p_range", ["weight 300 reverse"]],
  ["process", "p_noreverse", ["weight 5 no_reverse"]],
  ["process", "p_bare", ["weight"]],
  ["file", "f_range", ["weight 300 reverse"]],
  ["file", "f_noreverse", ["weight -5 no_reverse"]],
  ["file", "f_bare", ["weight"]],
];

/** One instance per case, then one per tracker of DEFS (tracking it by name alone). */
const CASES_AND_DEFS: ReadonlyArray<readonly [Kind, string]> = [
  ...CASES,
  ...DEFS.map(([kind, name]) => [kind, name] as const),
];

const DEF_BLOCK = { script: "vrrp_script", process: "vrrp_track_process", file: "track_file" } as const;

const BLOCK: Readonly<Record<Kind, string>> = {
  interface: "track_interface",
  script: "track_script",
  process: "track_process",
  file: "track_file",
};
const FIELD = {
  interface: "trackInterfaces",
  script: "trackScripts",
  process: "trackProcesses",
  file: "trackFiles",
} as const;
/** keepalived's headings in an instance's dump (vrrp_data.c dump_vrrp). */
const HEADING: Readonly<Record<string, Kind>> = {
  "Tracked interfaces :": "interface",
  "Tracked scripts :": "script",
  "Tracked processes :": "process",
  "Tracked files :": "file",
};

/** The configuration and the lines compared for messages: every track line and tracker weight line. */
function configOf(trackFile: string): { text: string; lineOf: number[] } {
  const lines = [
    "global_defs {",
    "    enable_script_security",
    "    script_user root",
    "}",
    "vrrp_script chk {",
    '    script "/bin/true"',
    "    interval 60",
    "    weight -20 reverse",
    "}",
    "vrrp_script chk2 {",
    '    script "/bin/true"',
    "    interval 60",
    "    weight 5",
    "}",
    "vrrp_track_process tp {",
    "    process vigil-no-such-process",
    "    weight 7 reverse",
    "}",
    "track_file tf {",
    `    file ${trackFile}`,
    "    weight 3 reverse",
    "}",
  ];
  const lineOf: number[] = [];
  for (const [kind, name, weights] of DEFS) {
    lines.push(`${DEF_BLOCK[kind]} ${name} {`);
    if (kind === "script") lines.push('    script "/bin/true"', "    interval 60");
    if (kind === "process") lines.push("    process vigil-no-such-process");
    if (kind === "file") lines.push(`    file ${trackFile}`);
    for (const w of weights) {
      lineOf.push(lines.length + 1);
      lines.push(`    ${w}`);
    }
    lines.push("}");
  }
  CASES_AND_DEFS.forEach(([kind, line], k) => {
    lines.push(
      `vrrp_instance VI_${k} {`,
      "    state BACKUP",
      "    interface eth0",
      `    virtual_router_id ${k + 1}`,
      "    priority 100",
      "    advert_int 255",
      "    virtual_ipaddress {",
      `        198.18.7.${k + 1}/32`,
      "    }",
      `    ${BLOCK[kind]} {`,
    );
    lineOf.push(lines.length + 1);
    lines.push(`        ${line}`, "    }", "}");
  });
  return { text: `${lines.join("\n")}\n`, lineOf };
}

/** `NAME weight W[ reverse]` per instance and kind, from keepalived's `-d` dump on its console. */
function parseDump(out: string): Map<string, string[]> {
  const tracked = new Map<string, string[]>();
  let instance: string | undefined;
  let kind: Kind | undefined;
  for (const raw of out.split("\n")) {
    const line = raw.replace(/^.*? \d{4}: /, "");
    const inst = /^ VRRP Instance = (\S+)$/.exec(line);
    if (inst !== null) {
      instance = inst[1];
      kind = undefined;
      continue;
    }
    if (!line.startsWith("     ")) kind = HEADING[line.trim()];
    else if (kind !== undefined && instance !== undefined) {
      const m = /^ {5}(\S+?),? weight (-?\d+)( reverse)?$/.exec(line);
      if (m === null) continue;
      const key = `${instance} ${kind}`;
      tracked.set(key, [...(tracked.get(key) ?? []), `${m[1]} weight ${m[2]}${m[3] ?? ""}`]);
    }
    if (/^-{6}< /.test(line) && !line.includes("VRRP Topology")) instance = undefined;
  }
  return tracked;
}

const suite = "track lines vs keepalived 2.2.7 (messages and its configuration dump)";

describe.skipIf(skipUnlessLab(suite, { keepalived: true, netns: true }))(suite, () => {
  const ns = `vg${process.pid % 10000}c-tr`;
  const dir = mkdtempSync(join(tmpdir(), "vigil-track-"));
  const trackFile = join(dir, "tf");
  const file = join(dir, "keepalived.conf");
  const { text, lineOf } = configOf(trackFile);
  beforeAll(async () => {
    writeFileSync(trackFile, "0\n");
    writeFileSync(file, text);
    await makeKeepalivedNs(ns);
  });
  afterAll(async () => {
    await runQuiet("ip", ["netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("keepalived -t prints, for every track line, what vigil check reports on it", async () => {
    const k = await keepalivedTest(ns, file, dir);
    const vigil = loadConfig(file).diagnostics.map((d) => `${d.line} ${d.message}`);
    const onTrackLines = (msgs: readonly string[]): string[] =>
      msgs.filter((m) => lineOf.includes(Number(m.split(" ")[0]))).sort();
    // "Ignoring track_interface … since own interface" and the like name no line: not compared here.
    expect(onTrackLines(vigil)).toEqual(onTrackLines(k.located));
    expect(onTrackLines(k.located).length).toBeGreaterThanOrEqual(25);
  });

  it("keepalived's dump shows the weight and direction Vigil resolved, and drops what Vigil drops", async () => {
    const run = spawnKeepalivedOn(ns, file, (n) => join(dir, `d-${n}`), ["-n", "-l", "-D", "-d", "-P"]);
    const pid = run.child.pid;
    try {
      const last = `VI_${CASES_AND_DEFS.length - 1}`;
      for (let t = 0; t < 100 && !run.output().includes(`VRRP Instance = ${last}\n`); t++)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      if (pid !== undefined) process.kill(-pid, "SIGKILL");
    }
    const dumped = parseDump(run.output());
    const runnable = loadConfig(file).runnable;
    expect(runnable).toBeDefined();
    const rows = CASES_AND_DEFS.map(([kind, line], k) => {
      const name = `VI_${k}`;
      const inst = runnable?.instances.find((i) => i.name === name);
      const refs = (inst?.[FIELD[kind]] ?? []).map(
        (r) => `${r.name} weight ${r.weight}${r.reverse ? " reverse" : ""}`,
      );
      return { line: `${BLOCK[kind]} ${line}`, vigil: refs, keepalived: dumped.get(`${name} ${kind}`) ?? [] };
    });
    expect(rows.map((r) => ({ line: r.line, tracked: r.vigil }))).toEqual(
      rows.map((r) => ({ line: r.line, tracked: r.keepalived })),
    );
    // The dump was read: most lines are kept, with a weight.
    expect(rows.filter((r) => r.keepalived.length === 1).length).toBeGreaterThanOrEqual(30);
  });
});

describe("trackers of sync group members and address owners, as keepalived -d shows them", () => {
  // keepalived 2.2.7 -d on this fixture: VI_1 "eth1 weight 0, eth2 weight 0, eth3 weight 0",
  // "tf, weight 0", "proc, weight 10" (tg gone); VI_2 "tf, weight 0", tg kept at 0; VI_3 (owner)
  // without eth1, tf at 0, tg gone, proc at 10.
  const file = "test/config/fixtures/invalid/95-sync-and-owner-tracker-weights.conf";
  it("reaches the NodeSpec: weighted interfaces stay tracked at 0 in a sync group, processes keep their weight", async () => {
    const { specFromConfig } = await import("../../src/runtime/config.adapter.ts");
    const runnable = loadConfig(file).runnable;
    if (runnable === undefined) throw new Error("fixture 95 does not run");
    const spec = specFromConfig(runnable);
    const bindings = (name: string) =>
      Object.fromEntries(
        (spec.instances.find((i) => i.params.name === name)?.tracking ?? [])
          .filter((t) => !t.tracker.startsWith("!"))
          .map((t) => [t.tracker, t.weight]),
      );
    expect(bindings("VI_1")).toEqual({ eth0: 0, eth1: 0, eth2: 0, eth3: 0, tf: 0, proc: 10 });
    expect(bindings("VI_2")).toEqual({ eth0: 0, tf: 0, tg: 0 });
    expect(bindings("VI_3")).toEqual({ eth0: 0, eth2: 0, tf: 0, proc: 10 });
  });
});
