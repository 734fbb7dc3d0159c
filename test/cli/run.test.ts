/**
 * `vigil run`'s arguments and the parts of the daemon that need no network: defaults, usage
 * errors (exit 64), --help (exit 0), a configuration with errors (exit 1, nothing started, no pid
 * file), another live Vigil on the pid file (exit 1 naming its pid), the journal directory made
 * 0700, and the dry-run ports (every command logged, nothing run). No sockets are opened: every
 * case here ends before the node starts.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCommandArgs } from "../../src/cli/args.ts";
import { main } from "../../src/cli/main.ts";
import { DEFAULT_JOURNAL_DIR, DEFAULT_PID_FILE, makeRunCommand, runArgs } from "../../src/cli/run.ts";
import { loadConfig } from "../../src/config/load.ts";
import { dryRunPorts, formatVip } from "../../src/daemon/dry-run-ports.ts";
import type { ProcessRunner } from "../../src/effects/process-runner.ts";
import type { VipAddress } from "../../src/runtime/ports.ts";
import { defaultVipAddress } from "../../src/runtime/spec.ts";

const parse = (args: string[]) => {
  const cmd = makeRunCommand(() => ({ interfaces: undefined }));
  let out = "";
  let err = "";
  const io = { stdout: (t: string) => (out += t), stderr: (t: string) => (err += t) };
  return { go: async () => ({ code: await cmd.run(args, io), out, err }) };
};
const runCli = (args: string[]) => parse(args).go();

const valuesOf = (args: string[]) => {
  const p = parseCommandArgs(
    {
      invocation: "t",
      synopsis: "",
      summary: "",
      options: {
        "use-file": { type: "string", short: "f", description: "" },
        "config-id": { type: "string", short: "i", description: "" },
        journal: { type: "string", description: "" },
        "pid-file": { type: "string", description: "" },
        "log-format": { type: "string", description: "" },
        "dry-run": { type: "boolean", description: "" },
      },
      positionals: { min: 0, max: 1, name: "FILE" },
    },
    args,
  );
  if (p.kind !== "ok") throw new Error(p.kind);
  return runArgs(p.values, p.positionals);
};

describe("vigil run arguments", () => {
  it("has keepalived's and Vigil's defaults", () => {
    expect(valuesOf([])).toEqual({
      configFile: "/etc/keepalived/keepalived.conf",
      configId: undefined,
      journalDir: DEFAULT_JOURNAL_DIR,
      pidFile: DEFAULT_PID_FILE,
      logFormat: "text",
      dryRun: false,
      status: { host: "127.0.0.1", port: 9118 },
      dumpDir: "/tmp",
    });
    expect(DEFAULT_JOURNAL_DIR).toBe("/var/lib/vigil");
    expect(DEFAULT_PID_FILE).toBe("/run/vigil.pid");
  });
  it("takes every option, the file as -f or positional", () => {
    const a = ["--journal", "/j", "--pid-file", "/p", "--log-format", "json", "--dry-run", "-i", "x"];
    expect(valuesOf(["-f", "/c", ...a])).toEqual({
      configFile: "/c",
      configId: "x",
      journalDir: "/j",
      pidFile: "/p",
      logFormat: "json",
      dryRun: true,
      status: { host: "127.0.0.1", port: 9118 },
      dumpDir: "/tmp",
    });
    expect(valuesOf(["/c"])).toMatchObject({ configFile: "/c" });
  });
  it.each([
    [["--log-format", "xml"], /--log-format must be text or json, got 'xml'/],
    [["--log-format", ""], /--log-format must be text or json/],
    [["--journal", ""], /journal directory is empty/],
    [["--pid-file", ""], /pid file name is empty/],
    [["-f", "/a", "/b"], /give the file once/],
    [["/a", "/b"], /unexpected argument '\/b'/],
    [["--journal"], /argument missing|requires|missing/i],
    [["--dry-run=yes"], /does not take an argument/],
    [["--pid-file", "/a", "--pid-file", "/b"], /more than once/],
    [["--bogus"], /Unknown option '--bogus'/],
  ])("refuses %j with exit 64", async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(message);
    expect(r.err).toContain("usage: vigil run");
  });
  it("vigil run --help prints the usage, the signals and what is not built, exit 0", async () => {
    let out = "";
    const code = await main(["run", "--help"], { stdout: (t) => (out += t), stderr: () => {} });
    expect(code).toBe(0);
    expect(out).toContain("usage: vigil run [-f FILE | FILE]");
    for (const s of ["--journal DIR", "--pid-file PATH", "--log-format text|json", "--dry-run", "SIGHUP"])
      expect(out).toContain(s);
    expect(out).toMatch(/SIGHUP reloads the file as keepalived does/);
    expect(out).toMatch(/--dry-run still sends and receives VRRP adverts/);
  });
});

describe("vigil run before the node starts", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vigil-run-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const goodConf = () => {
    const f = join(dir, "keepalived.conf");
    writeFileSync(
      f,
      "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress { 198.18.0.10/24 }\n}\n",
    );
    return f;
  };

  it("a configuration with errors: diagnostics, exit 1, no pid file, nothing started", async () => {
    const f = join(dir, "bad.conf");
    writeFileSync(f, "vrrp_instance VI_1 {\n interface eth0\n priority 100\n}\n");
    const pidFile = join(dir, "vigil.pid");
    const r = await runCli([f, "--journal", join(dir, "j"), "--pid-file", pidFile]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/virtual router id must be set/);
    expect(r.err).toMatch(/error\(s\) in the configuration - not starting/);
    expect(r.err).not.toContain("Starting Vigil");
    expect(existsSync(pidFile)).toBe(false);
  });

  it("json: a diagnostic's level is its severity; a warning does not stop the start", async () => {
    const f = join(dir, "warn.conf");
    // An unknown keyword is a warning; a missing virtual_router_id an error (fatal for the instance).
    writeFileSync(
      f,
      "global_defs {\n no_such_keyword 1\n}\nvrrp_instance VI_1 {\n interface eth0\n priority 100\n}\n",
    );
    const r = await runCli([
      f,
      "--journal",
      join(dir, "j"),
      "--pid-file",
      join(dir, "p"),
      "--log-format",
      "json",
    ]);
    expect(r.code).toBe(1);
    const records = r.err
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    const levelOf = (re: RegExp) => records.find((x) => re.test(x.msg))?.level;
    expect(levelOf(/no_such_keyword/)).toBe(40);
    expect(levelOf(/virtual router id must be set/)).toBe(50);
    expect(levelOf(/error\(s\) in the configuration - not starting/)).toBe(50);
  });

  it("a missing file: exit 1", async () => {
    const r = await runCli([join(dir, "nope.conf"), "--pid-file", join(dir, "p"), "--journal", dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("not starting");
  });

  it("another live Vigil on the pid file: exit 1 naming its pid; the file is left alone", async () => {
    const pidFile = join(dir, "vigil.pid");
    writeFileSync(pidFile, `${process.ppid}\n`);
    const r = await runCli([
      goodConf(),
      "--journal",
      join(dir, "j"),
      "--pid-file",
      pidFile,
      "--log-format",
      "json",
    ]);
    expect(r.code).toBe(1);
    const lines = r.err
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; level: number; pid: number });
    expect(lines.at(-1)?.msg).toBe(
      `another Vigil is running with pid ${process.ppid} (pid file ${pidFile}) - not starting`,
    );
    // pino records: a refused start is an error (50), with this process's pid
    expect(lines.at(-1)).toMatchObject({ level: 50, pid: process.pid });
    expect(readFileSync(pidFile, "utf8")).toBe(`${process.ppid}\n`);
    // The journal directory was made, 0700.
    expect(statSync(join(dir, "j")).mode & 0o777).toBe(0o700);
  });
});

describe("dry-run ports", () => {
  const vip = (over: Partial<VipAddress> = {}): VipAddress => ({
    ...defaultVipAddress("198.18.0.10/24", "eth0"),
    ...over,
  });
  const runner: ProcessRunner = {
    start: () => Promise.reject(new Error("no process may be started")),
    killAll: () => {},
    running: 0,
  };

  const configWith = (extra: string) => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-dry-"));
    try {
      const f = join(dir, "k.conf");
      writeFileSync(
        f,
        `${extra}vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress { 198.18.0.10/24 }\n notify /bin/echo\n notify_master "/bin/echo up"\n}\nvrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n priority 100\n virtual_ipaddress { 198.18.0.20/24 }\n}\n`,
      );
      const { config } = loadConfig(f);
      if (config === undefined) throw new Error("test config rejected");
      return config;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("logs only the notify scripts and FIFOs the configuration has", async () => {
    const lines: string[] = [];
    const p = dryRunPorts({ config: configWith(""), log: (l) => lines.push(l), runner });
    await p.notify.notify({ scope: "INSTANCE", name: "VI_2", state: "MASTER", priority: 100 });
    await p.notify.fifo('INSTANCE "VI_2" MASTER 100');
    expect(lines).toEqual([]);
  });

  it("logs each command as [dry-run] and runs nothing", async () => {
    const lines: string[] = [];
    let closed = 0;
    const config = configWith("global_defs {\n vrrp_notify_fifo /tmp/vigil-never.fifo\n}\n");
    const p = dryRunPorts({ config, log: (l) => lines.push(l), runner, close: () => closed++ });
    await p.open();
    await p.vip.add([
      vip(),
      vip({ address: "198.18.0.11", label: "eth0:vip", broadcast: "+", scope: "host" }),
    ]);
    await p.vip.remove([vip()]);
    await p.arp.burst("eth0", ["198.18.0.10"], 2, 1000);
    await p.notify.notify({ scope: "INSTANCE", name: "VI_1", state: "MASTER", priority: 100 });
    await p.notify.fifo('INSTANCE "VI_1" MASTER 100');
    p.close();
    expect(lines).toEqual([
      "[dry-run] add 198.18.0.10/24 dev eth0",
      "[dry-run] add 198.18.0.11/24 dev eth0 brd + scope host label eth0:vip",
      "[dry-run] del 198.18.0.10/24 dev eth0",
      "[dry-run] GARP on eth0 for 198.18.0.10 (2 round(s), 1000 us apart)",
      "[dry-run] notify_master: /bin/echo up",
      "[dry-run] notify: /bin/echo INSTANCE VI_1 MASTER 100",
      '[dry-run] fifo /tmp/vigil-never.fifo: INSTANCE "VI_1" MASTER 100',
    ]);
    expect(closed).toBe(1);
  });
  it("formats IPv6 options", () => {
    expect(
      formatVip(vip({ address: "2001:db8::1", prefixLength: 64, family: 6, noDad: true, home: true })),
    ).toBe("2001:db8::1/64 dev eth0 nodad home");
  });
});
