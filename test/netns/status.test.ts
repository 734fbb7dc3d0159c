/**
 * The status server, `vigil status` and the signal dumps of a real `vigil run` (lab namespace h1,
 * `--status 127.0.0.1:PORT --dump-dir DIR`) facing real keepalived 2.2.7 (h2, BACKUP, run with its
 * own private /tmp — a bind mount in its own mount namespace — so its dumps clobber nothing):
 * /status shows Vigil MASTER owning the VIP, /metrics counters grow, `vigil status` prints the
 * table, SIGUSR1 / SIGUSR2 / SIGRTMIN+2 / SIGRTMAX−1 write 0600 dumps with keepalived's log lines
 * and the daemon survives the real-time ones, and the files' layout is compared with the ones
 * keepalived writes on the same signals: the stats file line for line (numbers aside), the JSON's
 * keys, every data line Vigil writes being one keepalived writes too.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keepalivedPath, skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, waitFor } from "../support/lab.ts";
import { instanceBlock } from "./support/mixed-cluster.ts";
import { vigilBin, vigilRunArgs } from "./support/vigil.ts";

const suite = "netns: vigil run status server, vigil status, signal dumps (vs keepalived)";
const PORT = 9119;

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true }))(suite, () => {
  let lab: Lab;
  let vigil: LabProcess;
  let ka: LabProcess;
  let second: LabProcess;
  let net = "";
  let h1Ip = "";
  let dumps = "";
  let kaTmp = "";
  let status: { instances: Array<Record<string, unknown>>; daemon: Record<string, unknown> };
  let metrics1 = "";
  let metrics2 = "";
  let cli = { code: -1, stdout: "", stderr: "" };
  let aliveAfterRt = false;

  /** GET http://127.0.0.1:PORT/path from inside h1 (node's fetch; the port is h1's loopback). */
  const nsGet = async (path: string): Promise<string> => {
    const script = `const r = await fetch("http://127.0.0.1:${PORT}" + process.argv[1]); process.stdout.write(r.status + "\\n" + (await r.text()));`;
    const r = await lab.nsExec(lab.host(1).ns, process.execPath, ["--input-type=module", "-e", script, path]);
    const [code, ...body] = r.stdout.split("\n");
    if (code !== "200") throw new Error(`GET ${path}: ${r.stdout} ${r.stderr}`);
    return body.join("\n");
  };
  const metric = (text: string, name: string): number => {
    const m = new RegExp(
      `^${name}\\{instance="VI_1",interface="eth0",vrid="71",family="ipv4"\\} (\\S+)$`,
      "m",
    ).exec(text);
    return m === null ? Number.NaN : Number(m[1]);
  };

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}st`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    net = `198.18.${lab.subnet}`;
    h1Ip = h1.ipv4;
    const dir = lab.tempDir();
    const instance = (state: "MASTER" | "BACKUP", prio: number) =>
      `${instanceBlock({ state, vrid: 71, prio, advertInt: "1", vips: [`${net}.100/24`] })}\n`;
    // keepalived with a private /tmp: DIR/ka-tmp bind-mounted on /tmp in its own mount namespace.
    kaTmp = join(dir, "ka-tmp");
    mkdirSync(kaTmp);
    writeFileSync(join(kaTmp, "keepalived.conf"), instance("BACKUP", 100));
    ka = lab.spawn(
      h2.ns,
      "unshare",
      [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        `mount --bind "$0" /tmp && exec ${keepalivedPath} -n -l -D --vrrp -f /tmp/keepalived.conf -p /tmp/k.pid -r /tmp/v.pid -c /tmp/c.pid`,
        kaTmp,
      ],
      { label: "keepalived (private /tmp)" },
    );
    const conf = join(dir, "vigil.conf");
    writeFileSync(conf, instance("MASTER", 150));
    dumps = join(dir, "dumps");
    mkdirSync(dumps);
    vigil = lab.spawn(
      h1.ns,
      process.execPath,
      [
        ...vigilRunArgs({ config: conf, journalDir: join(dir, "journal"), pidFile: join(dir, "vigil.pid") }),
        "--status",
        `127.0.0.1:${PORT}`,
        "--dump-dir",
        dumps,
      ],
      { label: "vigil run --status" },
    );
    await vigil.waitForOutput(
      new RegExp(`Status server listening on http://127\\.0\\.0\\.1:${PORT}/status`),
      20_000,
    );
    await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
    await ka.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 20_000);
    await waitFor("the VIP on h1", async () =>
      (await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"])).includes(`${net}.100/24`)
        ? true
        : undefined,
    );
    // A second daemon asking for the same status port: one line, and it runs VRRP all the same.
    const conf2 = join(dir, "vigil2.conf");
    writeFileSync(
      conf2,
      instance("MASTER", 150).replace("VI_1", "VI_2").replace(" 71", " 72").replace(".100/", ".101/"),
    );
    second = lab.spawn(
      h1.ns,
      process.execPath,
      [
        ...vigilRunArgs({ config: conf2, journalDir: join(dir, "j2"), pidFile: join(dir, "v2.pid") }),
        "--status",
        `127.0.0.1:${PORT}`,
      ],
      { label: "second vigil run, same status port" },
    );
    await second.waitForOutput(/\(VI_2\) Entering MASTER STATE/, 20_000);
    await second.stop("SIGTERM", 15_000);
    status = JSON.parse(await nsGet("/status")) as typeof status;
    metrics1 = await nsGet("/metrics");
    await new Promise((r) => setTimeout(r, 2500));
    metrics2 = await nsGet("/metrics");
    const r = await lab.nsExec(
      h1.ns,
      process.execPath,
      [vigilBin, "status", "--addr", `127.0.0.1:${PORT}`],
      20_000,
    );
    cli = { code: r.code, stdout: r.stdout, stderr: r.stderr };

    const pid = vigil.pid ?? 0;
    process.kill(pid, "SIGUSR1");
    await vigil.waitForOutput(/Printing VRRP data for process\(\d+\) on signal/, 5_000);
    process.kill(pid, "SIGUSR2");
    await vigil.waitForOutput(/Printing VRRP stats for process\(\d+\) on signal/, 5_000);
    process.kill(pid, 36); // SIGRTMIN+2, keepalived's JSON signal
    await vigil.waitForOutput(/Printing VRRP as json for process\(\d+\) on signal/, 5_000);
    process.kill(pid, 63); // SIGRTMAX-1, stats clear
    await vigil.waitForOutput(/Printing and clearing VRRP stats for process\(\d+\) on signal/, 5_000);
    await new Promise((r) => setTimeout(r, 500));
    aliveAfterRt = vigil.running;

    const kaPid = ka.pid ?? 0;
    for (const [sig, file] of [
      ["SIGUSR1", "keepalived.data"],
      ["SIGUSR2", "keepalived.stats"],
      [36, "keepalived.json"],
    ] as const) {
      process.kill(kaPid, sig);
      await waitFor(`keepalived's ${file}`, () => {
        try {
          return statSync(join(kaTmp, file)).size > 0 ? true : undefined;
        } catch {
          return undefined;
        }
      });
    }
    await new Promise((r) => setTimeout(r, 300));
  }, 120_000);

  afterAll(async () => {
    if (vigil !== undefined) dumpForInspection("status vigil", vigil.output);
    if (ka !== undefined) dumpForInspection("status keepalived", ka.output);
    await lab?.destroy();
  });

  it("a status port in use: one clear line, the daemon runs VRRP anyway", () => {
    expect(second.stderr).toContain(
      `Status server: cannot listen on 127.0.0.1:${PORT}: EADDRINUSE - VRRP keeps running without it`,
    );
    expect(second.stderr.match(/Status server/g)).toHaveLength(1);
    expect(second.stderr).toMatch(/\(VI_2\) Entering MASTER STATE/);
    expect(second.code).toBe(0);
  });

  it("/status: Vigil MASTER owning the VIP, the daemon's facts", () => {
    expect(status.daemon).toMatchObject({ pid: vigil.pid, journal: { degraded: false } });
    expect(status.instances[0]).toMatchObject({
      name: "VI_1",
      interface: "eth0",
      vrid: 71,
      family: "IPv4",
      state: "MASTER",
      priority: { effective: 150, base: 150 },
      masterAddress: h1Ip,
      vips: [`${net}.100/24`],
      lastTransition: { from: "BACKUP", to: "MASTER" },
    });
  });

  it("/metrics: MASTER and counters that grow", () => {
    expect(metric(metrics1, "vigil_vrrp_state")).toBe(2);
    expect(metric(metrics1, "vigil_vrrp_become_master_total")).toBe(1);
    const sent1 = metric(metrics1, "vigil_vrrp_advert_sent_total");
    expect(sent1).toBeGreaterThan(0);
    expect(metric(metrics2, "vigil_vrrp_advert_sent_total")).toBeGreaterThanOrEqual(sent1 + 2);
  });

  it("vigil status prints the table", () => {
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(
      new RegExp(
        `^VI_1 +eth0 +71 +IPv4 +MASTER +150 +${h1Ip.replaceAll(".", "\\.")} \\(priority 150\\) .* BACKUP -> MASTER$`,
        "m",
      ),
    );
  });

  it("the dumps: 0600 files, keepalived's log lines, alive after the real-time signals", () => {
    for (const f of ["keepalived.data", "keepalived.stats", "keepalived.json"])
      expect(statSync(join(dumps, f)).mode & 0o777, f).toBe(0o600);
    expect(aliveAfterRt).toBe(true);
    expect(vigil.stderr).not.toContain("DeprecationWarning");
    expect(vigil.stderr).toContain(`Printing VRRP data for process(${vigil.pid}) on signal`);
    const json = JSON.parse(readFileSync(join(dumps, "keepalived.json"), "utf8")) as Array<{
      data: { iname: string; state: number; vips: string[] };
      stats: { advert_sent: number };
    }>;
    expect(json[0]?.data).toMatchObject({
      iname: "VI_1",
      state: 2,
      vips: [`${net}.100/24 dev eth0 scope global set`],
    });
    expect(json[0]?.stats.advert_sent).toBeGreaterThan(0);
  });

  it("keepalived.stats: the same layout as keepalived's, line for line", () => {
    const numbersOut = (t: string) => t.replace(/\d+/g, "N");
    expect(numbersOut(readFileSync(join(dumps, "keepalived.stats"), "utf8"))).toBe(
      numbersOut(readFileSync(join(kaTmp, "keepalived.stats"), "utf8")),
    );
  });

  it("keepalived.json: the same data and stats keys as keepalived's", () => {
    type Entry = { data: Record<string, unknown>; stats: Record<string, unknown> };
    const ours = JSON.parse(readFileSync(join(dumps, "keepalived.json"), "utf8")) as Entry[];
    const theirs = JSON.parse(readFileSync(join(kaTmp, "keepalived.json"), "utf8")) as Entry[];
    expect(Object.keys(ours[0]?.data ?? {})).toEqual(Object.keys(theirs[0]?.data ?? {}));
    expect(Object.keys(ours[0]?.stats ?? {})).toEqual(Object.keys(theirs[0]?.stats ?? {}));
    // keepalived (BACKUP) heard Vigil: its master_priority is Vigil's priority.
    expect(theirs[0]?.data.master_priority).toBe(150);
  });

  it("keepalived.data: every line Vigil writes is one keepalived writes (labels; values where they agree)", () => {
    const ours = readFileSync(join(dumps, "keepalived.data"), "utf8").split("\n");
    const theirs = readFileSync(join(kaTmp, "keepalived.data"), "utf8").split("\n");
    const label = (l: string) => l.replace(/( = |: |Multicast address ).*$/, "$1").replace(/ set$/, "");
    const theirLabels = new Set(theirs.map(label));
    for (const l of ours.filter((x) => x !== "")) expect(theirLabels.has(label(l)), l).toBe(true);
    for (const same of [
      " VRRP Instance = VI_1",
      "   VRRP Version = 2",
      "   Interface = eth0",
      "   Multicast address 224.0.0.18",
      "   Virtual Router ID = 71",
      "   Advert interval = 1 sec",
      "   Gratuitous ARP delay = 5",
      "   Down timer adverts = 3",
      "   Preempt = enabled",
      "   Authentication type = none",
      "   Virtual IP (1):",
      "------< VRRP Topology >------",
    ]) {
      expect(ours, same).toContain(same);
      expect(theirs, same).toContain(same);
    }
    expect(ours).toContain(`     ${net}.100/24 dev eth0 scope global set`);
    expect(theirs).toContain(`     ${net}.100/24 dev eth0 scope global`);
    expect(theirs).toContain(`   Master router = ${h1Ip}`);
  });
});
