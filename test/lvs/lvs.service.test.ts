/**
 * The LVS side end to end on 127.0.0.1 with the real clock: a parsed keepalived.conf run by a Node
 * whose checks port is `createLvs`'s, a TCP_CHECK against a real listener and a MISC_CHECK script
 * with misc_dynamic, run by the one process runner. The listener goes away and comes back, the
 * script's exit code changes the weight; every decision reaches the (recording, as this kernel has no
 * IPVS) IPVS port as ipvsadm lines; the node's shutdown removes the service and leaves no timer,
 * probe, process or socket behind; the journal of the whole run replays without a difference.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { createProcessRunner } from "../../src/effects/process-runner.ts";
import { nodeScriptEnv } from "../../src/effects/script-env.ts";
import { createLvs } from "../../src/lvs/lvs.service.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { nodeFromConfig } from "../../src/runtime/config.adapter.ts";
import { type JournalLine, MemoryJournal, readJournal } from "../../src/runtime/journal.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { RealClock } from "../../src/runtime/real-clock.ts";
import { replayJournal } from "../../src/runtime/replay.ts";

const dir = mkdtempSync(join(tmpdir(), "vigil-lvs-svc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const listen = async (port = 0): Promise<Server> => {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", r));
  return s;
};
const portOf = (s: Server): number => (s.address() as { port: number }).port;

async function until(what: () => boolean, label: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("startLvs", () => {
  test("TCP_CHECK and MISC_CHECK drive the IPVS lines; stop removes all and leaks nothing", async () => {
    let tcpServer = await listen();
    const tcpPort = portOf(tcpServer);
    const codeFile = join(dir, "code");
    writeFileSync(codeFile, "0");
    const script = join(dir, "chk.sh");
    writeFileSync(script, `#!/bin/sh\nexit $(cat ${codeFile})\n`);
    chmodSync(script, 0o755);
    const conf = join(dir, "keepalived.conf");
    writeFileSync(
      conf,
      `virtual_server 127.0.0.1 8080 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  delay_loop 0.2
  real_server 127.0.0.1 ${tcpPort} {
    TCP_CHECK {
      connect_timeout 0.5
      retry 0
    }
  }
  real_server 127.0.0.2 9 {
    MISC_CHECK {
      misc_path ${script}
      misc_dynamic
    }
  }
}
`,
    );
    const { runnable } = loadConfig(conf, { configId: "lb1" });
    if (runnable === undefined) throw new Error("config did not load");
    const clock = new RealClock();
    const runner = createProcessRunner(clock);
    const lines: string[] = [];
    const lvs = createLvs({
      config: runnable,
      clock,
      runner,
      scriptEnv: nodeScriptEnv(),
      log: (l) => lines.push(l),
      procPath: join(dir, "no-ip_vs"),
    });
    const journal = new MemoryJournal();
    const node = nodeFromConfig(
      runnable,
      {
        clock,
        ports: { ...nullPorts(), log: { log: (l) => lines.push(l) } },
        journal,
        checks: lvs.checks,
      },
      { lvs: true },
    );
    node.start();
    const rs1 = `[127.0.0.1]:tcp:${tcpPort}`;
    const rs2 = "[127.0.0.2]:tcp:9";
    const vsn = "[127.0.0.1]:tcp:8080";
    const has = (l: string) => () => lines.includes(l);
    try {
      expect(lvs.ipvs.recorded.slice(0, 3)).toEqual([
        "-A -t 127.0.0.1:8080 -s rr",
        `-a -t 127.0.0.1:8080 -r 127.0.0.1:${tcpPort} -m -w 1`,
        "-a -t 127.0.0.1:8080 -r 127.0.0.2:9 -m -w 1",
      ]);
      await until(has(`TCP connection to ${rs1} success.`), "the first TCP success");
      await until(
        has(`Misc check for [${rs2} VS ${vsn}] by [${script}] succeeded.`),
        "the first misc success",
      );

      await new Promise((r) => tcpServer.close(r));
      await until(has(`Removing service ${rs1} from VS ${vsn}`), "the TCP failure");
      expect(lines).toContain(`TCP_CHECK on service ${rs1} failed.`);
      expect(lvs.ipvs.recorded).toContain(`-d -t 127.0.0.1:8080 -r 127.0.0.1:${tcpPort}`);

      tcpServer = await listen(tcpPort);
      await until(has(`Adding service ${rs1} to VS ${vsn}`), "the TCP recovery");

      writeFileSync(codeFile, "7");
      await until(
        has(`Changing weight from 1 to 5 for active service ${rs2} of VS ${vsn}`),
        "the dynamic weight",
      );
      expect(lvs.ipvs.recorded).toContain("-e -t 127.0.0.1:8080 -r 127.0.0.2:9 -m -w 5");
    } finally {
      node.shutdown();
      await node.settled();
      await lvs.idle();
      await new Promise((r) => tcpServer.close(r));
    }
    expect(lvs.ipvs.recorded.at(-1)).toBe("-D -t 127.0.0.1:8080");
    expect(lines).toContain(`Shutting down service ${rs1} from VS ${vsn}`);
    expect(node.timers()).toEqual([]);
    expect(node.probesInFlight).toBe(0);
    node.close();
    const read = readJournal(journal.lines.join("\n"));
    if (!read.ok) throw new Error(read.error.message);
    const replay = replayJournal(read.header, read.lines as JournalLine[]);
    expect(replay.mismatches).toEqual([]);
    expect(replay.timerFaults).toEqual([]);
    expect(journal.lines.filter((l) => l.includes('"kind":"check"')).length).toBeGreaterThan(5);
    await until(() => runner.running === 0, "the misc script to end");
    await until(
      () => !process.getActiveResourcesInfo().some((r) => r === "TCPSocketWrap"),
      "every socket to close",
    );
    expect(lines[0]).toMatch(
      /^IPVS: Can't initialize ipvs: no .*no-ip_vs \(this kernel has no ip_vs module\)/,
    );
  }, 20_000);

  test("warmup draws come from the seeded PRNG, one per checker, within 0..RAND_MAX", () => {
    const conf = join(dir, "warm.conf");
    writeFileSync(
      conf,
      `virtual_server 198.18.0.100 80 {
  protocol TCP
  delay_loop 10
  real_server 198.18.0.11 80 {
    TCP_CHECK {
      warmup 8
    }
  }
  real_server 198.18.0.12 80 {
    TCP_CHECK {
    }
  }
}
`,
    );
    const { runnable } = loadConfig(conf, { configId: "lb1" });
    if (runnable === undefined) throw new Error("config did not load");
    const starts = (seed: number) => {
      const journal = new MemoryJournal();
      const clock = new VirtualClock();
      const lvs = createLvs({
        config: runnable,
        clock,
        runner: createProcessRunner(),
        scriptEnv: nodeScriptEnv(),
        log: () => {},
        seed,
        procPath: join(dir, "no-ip_vs"),
      });
      const node = nodeFromConfig(
        runnable,
        { clock, ports: nullPorts(), journal, checks: lvs.checks },
        { lvs: true },
      );
      node.start();
      const start = journal.lines.find((l) => l.includes('"kind":"check"')) ?? "";
      node.close();
      return (JSON.parse(start) as { ev: { input: { event: { warmupDraws: number[] } } } }).ev.input.event
        .warmupDraws;
    };
    const a = starts(1);
    expect(a).toHaveLength(2);
    expect(a).toEqual(starts(1));
    expect(a).not.toEqual(starts(2));
    for (const d of a) expect(d >= 0 && d <= 2_147_483_647).toBe(true);
  });

  test("a dry run: IPVS is not looked for, its lines and the notify scripts are logged, nothing is run", () => {
    const conf = join(dir, "dry.conf");
    writeFileSync(
      conf,
      `global_defs {
  script_user root
}
virtual_server 198.18.0.100 80 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  quorum_up "/bin/true up"
  real_server 198.18.0.11 80 {
    notify_up "/bin/true rs"
    TCP_CHECK {
    }
  }
}
`,
    );
    const { runnable } = loadConfig(conf, { configId: "lb1" });
    if (runnable === undefined) throw new Error("config did not load");
    const clock = new VirtualClock();
    const runner = createProcessRunner();
    const dry: string[] = [];
    const lines: string[] = [];
    const lvs = createLvs({
      config: runnable,
      clock,
      runner,
      scriptEnv: nodeScriptEnv(),
      log: (l) => lines.push(l),
      dryRun: (l) => dry.push(l),
      procPath: join(dir, "no-ip_vs"),
    });
    const node = nodeFromConfig(runnable, { clock, ports: nullPorts(), checks: lvs.checks }, { lvs: true });
    node.start();
    node.shutdown();
    node.close();
    expect(dry).toEqual([
      "ipvsadm -A -t 198.18.0.100:80 -s rr",
      "ipvsadm -a -t 198.18.0.100:80 -r 198.18.0.11:80 -m -w 1",
      "quorum_up: /bin/true up",
      "ipvsadm -d -t 198.18.0.100:80 -r 198.18.0.11:80",
      "ipvsadm -D -t 198.18.0.100:80",
    ]);
    expect(lines.filter((l) => l.startsWith("IPVS:"))).toEqual([]); // IPVS is not even looked for
    expect(runner.running).toBe(0);
  });

  test("a reload replaces the known virtual servers: a removed one is forgotten, a kept one is written anew", async () => {
    const conf = (port: number, weight: number) => {
      const f = join(dir, `r${port}-${weight}.conf`);
      writeFileSync(
        f,
        `virtual_server 198.18.0.100 ${port} {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  real_server 198.18.0.11 80 {
    weight ${weight}
    TCP_CHECK {
    }
  }
}
virtual_server 198.18.0.101 80 {
  protocol TCP
  lvs_method NAT
  lvs_sched rr
  real_server 198.18.0.12 80 {
    TCP_CHECK {
    }
  }
}
`,
      );
      const { runnable } = loadConfig(f, { configId: "lb1" });
      if (runnable === undefined) throw new Error("config did not load");
      return runnable;
    };
    const first = conf(80, 1);
    const lvs = createLvs({
      config: first,
      clock: new VirtualClock(),
      runner: createProcessRunner(),
      scriptEnv: nodeScriptEnv(),
      log: () => {},
      procPath: join(dir, "no-ip_vs"),
    });
    const add = { type: "ipvs", op: "addDest", rs: 0, weight: 1 } as const;
    lvs.reload(conf(81, 7)); // [198.18.0.100]:tcp:80 is gone; [198.18.0.101]:tcp:80 is kept
    lvs.checks.ipvs("[198.18.0.100]:tcp:80", [add]);
    lvs.checks.ipvs("[198.18.0.101]:tcp:80", [add]);
    lvs.checks.ipvs("[198.18.0.100]:tcp:81", [add]);
    expect(lvs.ipvs.recorded).toEqual([
      "-a -t 198.18.0.101:80 -r 198.18.0.12:80 -m -w 1",
      "-a -t 198.18.0.100:81 -r 198.18.0.11:80 -m -w 1",
    ]);
    const result = await new Promise((resolve) =>
      lvs.checks.probe({ vs: "[198.18.0.100]:tcp:80", rs: 0, checker: 0, url: null }, resolve),
    );
    expect(result).toEqual({ ok: false }); // an unknown virtual server's probe fails at once
  });
});
