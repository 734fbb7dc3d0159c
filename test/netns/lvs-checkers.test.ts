/**
 * `vigil run` with a virtual_server on real hosts (lab namespaces, 198.18.0.0/15): h1 runs Vigil,
 * h2 a TCP listener (TCP_CHECK), h3 a web server (HTTP_GET with a status code). Vigil says once
 * that this kernel has no IPVS and keeps checking; the first successes, the TCP listener going
 * away (no line per failed attempt), the web page disappearing (404; its HTTP_GET has
 * log_all_failures, so the attempt's own line too), the quorum lost and the shutdown come out in keepalived
 * 2.2.7's wording (check_tcp.c, check_http.c, ipwrapper.c); every checker decision is in the journal
 * (`check` inputs, `vs:` timers, `ipvs` outputs) and `vigil replay --verify` reproduces it. A SIGHUP
 * with one virtual server changed restarts its checkers and leaves the unchanged one running. keepalived 2.2.7 itself cannot be the
 * reference here: without IPVS its checker process exits at start (`IPVS: Can't initialize ipvs`,
 * `exited with permanent error FATAL`), observed on this kernel.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, run } from "../support/lab.ts";
import { vigilBin } from "./support/vigil.ts";

const suite = "netns: LVS checkers (TCP_CHECK, HTTP_GET) under vigil run";

describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab;
  let vigil: LabProcess;
  let tcpServer: LabProcess;
  let web: LabProcess;
  let rs2 = "";
  let rs3 = "";
  let vs = "";
  let vs2 = "";
  let journalDir = "";
  const seen: Record<string, boolean> = {};

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}lv`, hosts: 3 });
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    const net = `198.18.${lab.subnet}`;
    rs2 = `[${h2.ipv4}]:tcp:8080`;
    rs3 = `[${h3.ipv4}]:tcp:8081`;
    vs = `[${net}.100]:tcp:80`;
    vs2 = `[${net}.100]:tcp:443`;
    const dir = lab.tempDir();
    journalDir = join(dir, "journal");
    const www = join(dir, "www");
    mkdirSync(www);
    writeFileSync(join(www, "health"), "ok\n");
    tcpServer = lab.spawn(h2.ns, "python3", [
      "-c",
      `import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(("${h2.ipv4}",8080))\ns.listen(16)\nprint("listening",flush=True)\nwhile True:\n  c,_=s.accept(); c.close()`,
    ]);
    await tcpServer.waitForOutput(/listening/, 10_000);
    web = lab.spawn(h3.ns, "python3", [
      "-u",
      "-m",
      "http.server",
      "8081",
      "--bind",
      h3.ipv4,
      "--directory",
      www,
    ]);
    await web.waitForOutput(/Serving HTTP/, 10_000);
    const conf = join(dir, "keepalived.conf");
    const text = (rs2Weight: number): string =>
      `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 71
    priority 100
    advert_int 1
    virtual_ipaddress {
        ${net}.100/24
    }
}
virtual_server ${net}.100 80 {
    protocol TCP
    lvs_sched rr
    lvs_method NAT
    delay_loop 1
    real_server ${h2.ipv4} 8080 {
        weight ${rs2Weight}
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server ${h3.ipv4} 8081 {
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 1
            retry 0
            delay_before_retry 1
            log_all_failures
        }
    }
}
virtual_server ${net}.100 443 {
    protocol TCP
    delay_loop 1
    real_server ${h3.ipv4} 8081 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`;
    writeFileSync(conf, text(1));
    vigil = lab.spawn(h1.ns, process.execPath, [vigilBin, "run", "-f", conf, "--journal", journalDir], {
      label: "vigil run (lvs)",
    });
    await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
    await vigil.waitForOutput(new RegExp(`TCP connection to \\[${h2.ipv4}\\]:tcp:8080 success\\.`), 15_000);
    await vigil.waitForOutput(/Remote Web server .* succeed on service\./, 15_000);
    await tcpServer.stop("SIGKILL");
    await vigil.waitForOutput(/Removing service .*:8080 from VS/, 15_000);
    rmSync(join(www, "health"));
    await vigil.waitForOutput(/Removing service .*:8081 from VS/, 15_000);
    await vigil.waitForOutput(/Lost quorum/, 5_000);
    writeFileSync(conf, text(2));
    process.kill(vigil.pid ?? 0, "SIGHUP");
    await vigil.waitForOutput(/Reload complete/, 10_000);
    await vigil.waitForOutput(
      new RegExp(
        `TCP_CHECK on service \\[${h2.ipv4}\\]:tcp:8080 failed\\.[^]*TCP_CHECK on service \\[${h2.ipv4}\\]:tcp:8080 failed\\.`,
      ),
      15_000,
    );
    await vigil.stop("SIGTERM", 15_000);
    seen.exited = vigil.code === 0;
  }, 120_000);

  afterAll(async () => {
    if (vigil !== undefined) dumpForInspection("lvs vigil", vigil.output);
    await lab?.destroy();
  });

  const lines = (): string[] =>
    vigil.stderr
      .split("\n")
      .map((l) => l.replace(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: /, ""));

  it("says once that IPVS is missing, and keeps checking", () => {
    expect(lines().filter((l) => l.startsWith("IPVS: Can't initialize ipvs"))).toHaveLength(1);
    expect(lines()).toContain(`Activating healthchecker for service ${rs2} for VS ${vs}`);
    expect(lines()).toContain(`Activating healthchecker for service ${rs3} for VS ${vs}`);
  });

  it("logs successes, failures and the quorum in keepalived's words, in order", () => {
    const want = [
      `Gained quorum 1+0=1 <= 2 for VS ${vs}`,
      `TCP connection to ${rs2} success.`,
      `TCP_CHECK on service ${rs2} failed.`,
      `Removing service ${rs2} from VS ${vs}`,
      // log_all_failures: the failed attempt's own line (check_http.c timeout_epilog) first.
      `HTTP status code error to server ${rs3}.`,
      `HTTP_CHECK on service ${rs3} failed.`,
      `Removing service ${rs3} from VS ${vs}`,
      `Lost quorum 1-0=1 > 0 for VS ${vs}`,
      `Shutting down service ${rs2} from VS ${vs}`,
      `Shutting down service ${rs3} from VS ${vs}`,
    ];
    const got = lines();
    let at = -1;
    for (const w of want) {
      const i = got.indexOf(w, at + 1);
      expect(i, `${w} after line ${at}`).toBeGreaterThan(at);
      at = i;
    }
    expect(got).toContain(`Remote Web server ${rs3} succeed on service.`);
    // Without log_all_failures, TCP_CHECK logs no failed attempt: only the state change.
    expect(got.filter((l) => l.startsWith(`TCP connection to ${rs2} `))).toEqual([
      `TCP connection to ${rs2} success.`,
    ]);
    expect(seen.exited).toBe(true);
  });

  it("a reload restarts the changed virtual server's checkers and leaves the unchanged one running", () => {
    const got = lines();
    const reload = got.indexOf("Reload complete");
    expect(reload).toBeGreaterThan(0);
    const before = got.slice(0, reload);
    const after = got.slice(reload);
    // The changed one stopped (its services left IPVS) and started again …
    expect(before).toContain(`Shutting down service ${rs2} from VS ${vs}`);
    expect(after).toContain(`Activating healthchecker for service ${rs2} for VS ${vs}`);
    // … the unchanged one was started once, and stopped only by the final SIGTERM.
    const rs3on443 = `Activating healthchecker for service ${rs3} for VS ${vs2}`;
    expect(got.filter((l) => l === rs3on443)).toHaveLength(1);
    const stop2 = got.indexOf(`Shutting down service ${rs3} from VS ${vs2}`);
    expect(stop2).toBeGreaterThan(reload);
    expect(got.slice(reload, stop2).some((l) => l.includes(`VS ${vs2}`) && l.startsWith("Activating"))).toBe(
      false,
    );
  });

  it("journals every checker decision, and the journal replays with vigil replay --verify", async () => {
    const segment = join(journalDir, "journal.000001.jsonl");
    const text = readFileSync(segment, "utf8");
    expect(text).toContain('"kind":"check"');
    expect(text).toContain(`"actor":"vs:${vs}"`);
    expect(text).toMatch(/"type":"ipvs","vs":"\[[0-9.]+\]:tcp:80","ops":\[\{"type":"ipvs","op":"delDest"/);
    const r = await run(process.execPath, [vigilBin, "replay", "--verify", segment], 60_000);
    expect(r.stderr).toContain("verify ok");
    expect(r.code).toBe(0);
  });
});
