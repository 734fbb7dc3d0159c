/**
 * The LVS side end to end on 127.0.0.1 with the real clock: a parsed keepalived.conf, a TCP_CHECK
 * against a real listener and a MISC_CHECK script with misc_dynamic, run by the one process runner.
 * The listener goes away and comes back, the script's exit code changes the weight; every decision
 * reaches the (recording, as this kernel has no IPVS) IPVS port as ipvsadm lines; stop removes the
 * service and leaves no timer, probe, process or socket behind.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { createProcessRunner } from "../../src/effects/process-runner.ts";
import { nodeScriptEnv } from "../../src/effects/script-env.ts";
import { startLvs } from "../../src/lvs/lvs.service.ts";
import { RealClock, VirtualClock } from "../../src/runtime/clock.ts";

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
    const lvs = startLvs({
      config: runnable,
      clock,
      runner,
      scriptEnv: nodeScriptEnv(),
      log: (l) => lines.push(l),
      procPath: join(dir, "no-ip_vs"),
    });
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
      await lvs.stop();
      await new Promise((r) => tcpServer.close(r));
    }
    expect(lvs.ipvs.recorded.at(-1)).toBe("-D -t 127.0.0.1:8080");
    expect(lines).toContain(`Shutting down service ${rs1} from VS ${vsn}`);
    expect(lvs.host.timersPending).toBe(0);
    expect(lvs.host.probesInFlight).toBe(0);
    await until(() => runner.running === 0, "the misc script to end");
    await until(
      () => !process.getActiveResourcesInfo().some((r) => r === "TCPSocketWrap"),
      "every socket to close",
    );
    expect(lines[0]).toMatch(
      /^IPVS: Can't initialize ipvs: no .*no-ip_vs \(this kernel has no ip_vs module\)/,
    );
  }, 20_000);

  test("warmup draws come from the seeded PRNG and are recorded with START; a changed reload is said", async () => {
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
      const recorded: unknown[] = [];
      const lines: string[] = [];
      const lvs = startLvs({
        config: runnable,
        clock: new VirtualClock(),
        runner: createProcessRunner(),
        scriptEnv: nodeScriptEnv(),
        log: (l) => lines.push(l),
        seed,
        record: (i) => recorded.push(i),
        procPath: join(dir, "no-ip_vs"),
      });
      return { lvs, recorded, lines };
    };
    const a = starts(1);
    const b = starts(1);
    const c = starts(2);
    const draws = (r: unknown[]) => (r[0] as { event: { warmupDraws: number[] } }).event.warmupDraws;
    expect(draws(a.recorded)).toHaveLength(2);
    expect(draws(a.recorded)).toEqual(draws(b.recorded));
    expect(draws(a.recorded)).not.toEqual(draws(c.recorded));
    for (const d of draws(a.recorded)) expect(d >= 0 && d <= 2_147_483_647).toBe(true);
    expect(a.lvs.reload(runnable)).toBe(false);
    expect(a.lines.some((l) => l.startsWith("LVS: virtual_server changes"))).toBe(false);
    expect(a.lvs.reload({ virtualServers: [] })).toBe(true);
    expect(a.lines.at(-1)).toMatch(/^LVS: virtual_server changes are not applied on reload yet/);
    for (const x of [a, b, c]) await x.lvs.stop();
  });
});
