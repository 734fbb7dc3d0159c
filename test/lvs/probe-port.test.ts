/**
 * The production probe port from a parsed configuration: TCP_CHECK with connect_ip/connect_port
 * (to a loopback listener), MISC_CHECK scripts through the process runner — exit codes, a script
 * that outlives misc_timeout (SIGTERM, reported as timed out), a cancelled run (killed), and
 * scripts that must not run (missing, not executable): one clear line each, said once, never a
 * crash, no process left behind.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { ProbeResult } from "../../machines/checker.machine.ts";
import { configProbePort } from "./probe-support.ts";

const dir = mkdtempSync(join(tmpdir(), "vigil-probe-port-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = (name: string, body: string, mode = 0o755): string => {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, mode);
  return p;
};

function port(conf: string) {
  const { probe, run, lines, runner } = configProbePort(dir, conf);
  const once = (rs: number, checker = 0): Promise<ProbeResult> => run({ vs: 0, rs, checker, url: null });
  return { probe, once, lines, runner };
}

const misc = (path: string, extra = ""): string => `    MISC_CHECK {
      misc_path "${path}"
      ${extra}
    }`;

describe("probe port", () => {
  test("TCP_CHECK goes to connect_ip:connect_port, not to the real server's address", async () => {
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const p = (server.address() as { port: number }).port;
    const { once } = port(`virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 198.18.0.11 80 {
    TCP_CHECK {
      connect_ip 127.0.0.1
      connect_port ${p}
      connect_timeout 1
    }
  }
}
`);
    expect(await once(0)).toEqual({ ok: true });
    await new Promise((r) => server.close(r));
    expect(await once(0)).toEqual({ ok: false, reason: "failed" });
  });

  test("MISC_CHECK: exit codes, a timeout, a cancel; refused scripts said once", async () => {
    const ok = script("ok.sh", "exit 0");
    const five = script("five.sh", "exit 5");
    const slow = script("slow.sh", "sleep 30");
    const noexec = script("noexec.sh", "exit 0", 0o644);
    const { once, probe, lines, runner } = port(`virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 198.18.0.11 80 {
${misc(ok)}
  }
  real_server 198.18.0.12 80 {
${misc(five, "misc_dynamic")}
  }
  real_server 198.18.0.13 80 {
${misc(slow, "misc_timeout 1")}
  }
  real_server 198.18.0.14 80 {
${misc(join(dir, "missing.sh"))}
  }
  real_server 198.18.0.15 80 {
${misc(noexec)}
  }
}
`);
    expect(await once(0)).toEqual({ ok: true, exitStatus: 0 });
    expect(await once(1)).toEqual({ ok: false, exitStatus: 5 }); // the machine applies misc_dynamic
    const t0 = Date.now();
    expect(await once(2)).toEqual({ ok: false, timedOut: true, signal: 15 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(await once(3)).toEqual({ ok: false, exitStatus: 127 });
    expect(await once(3)).toEqual({ ok: false, exitStatus: 127 });
    expect(await once(4)).toEqual({ ok: false, exitStatus: 127 });
    expect(lines.filter((l) => l.includes("missing.sh"))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("noexec.sh"))).toHaveLength(1);
    expect(lines.join("\n")).toMatch(/missing\.sh/);
    // a cancelled run is killed and reports nothing
    let reported = false;
    const cancel = probe({ vs: 0, rs: 2, checker: 0, url: null }, () => {
      reported = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(runner.running).toBe(1);
    cancel();
    for (let i = 0; i < 100 && runner.running > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(runner.running).toBe(0);
    expect(reported).toBe(false);
  }, 20_000);
});
