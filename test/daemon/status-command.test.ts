/**
 * `vigil status` against a status server on loopback (a Node on the VirtualClock behind it): the
 * table in keepalived's words, `--json`, exit 1 with a clear message when nothing listens or the
 * answer is not a status document, terminal-safe output from a hostile server, usage errors (64)
 * and --help (0). Also `vigil run --status` / `--dump-dir` argument parsing.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parseCommandArgs } from "../../src/cli/args.ts";
import { parseHostPort } from "../../src/cli/host-port.ts";
import { main } from "../../src/cli/main.ts";
import { runArgs } from "../../src/cli/run.ts";
import { statusCommand } from "../../src/cli/status.ts";
import { fetchStatus } from "../../src/cli/status-client.ts";
import type { StatusServer } from "../../src/daemon/status-server.ts";
import { rig, S, serveRig } from "./status-rig.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function status(args: string[]) {
  let out = "";
  let err = "";
  const code = await statusCommand.run(args, {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

async function daemon(): Promise<StatusServer> {
  const r = rig();
  r.clock.advanceBy(5 * S);
  r.advert(52, 200, ["198.18.0.101"]);
  const s = await serveRig(r);
  if (s === undefined) throw new Error("no server");
  closers.push(() => s.close());
  return s;
}

/** A server answering every request with `body`. */
async function fake(body: string, statusCode = 200): Promise<number> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(statusCode, { "Content-Type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

describe("vigil status", () => {
  it("prints the instances in keepalived's words, the sync groups and the daemon", async () => {
    const s = await daemon();
    const r = await status(["--addr", `127.0.0.1:${s.port}`]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("Vigil 9.9.9, pid 4242, started 2027-01-15T08:00:00.000Z");
    expect(lines).toContain("Configuration: /etc/keepalived/keepalived.conf");
    expect(lines).toContain("Journal: /var/lib/vigil/journal.000001.jsonl");
    expect(lines[4]).toMatch(
      /^VRRP Instance +Interface +VRID +Family +State +Priority +Master router +Last transition$/,
    );
    expect(lines[5]).toMatch(
      /^VI_1 +eth0 +51 +IPv4 +MASTER +150 +198\.18\.0\.1 \(priority 150\) +2027-01-15T08:00:03\.414Z BACKUP -> MASTER$/,
    );
    expect(lines[6]).toMatch(
      /^VI_2 +eth0 +52 +IPv4 +BACKUP +100 +198\.18\.0\.2 \(priority 200\) +\S+ MASTER -> BACKUP$/,
    );
    expect(lines).toContain("VRRP Sync Group = G1, MASTER");
  });

  it("--json prints the /status document", async () => {
    const s = await daemon();
    const r = await status(["--json", "--addr", `127.0.0.1:${s.port}`]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { instances: Array<{ name: string; state: string }> };
    expect(doc.instances.map((i) => [i.name, i.state])).toEqual([
      ["VI_1", "MASTER"],
      ["VI_2", "BACKUP"],
    ]);
  });

  it("nothing listening: exit 1 and a message saying where it looked", async () => {
    const port = await fake("{}");
    await closers.pop()?.(); // the port is free again
    const r = await status(["--addr", `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `vigil status: cannot reach the daemon's status server at http://127.0.0.1:${port}/status: ECONNREFUSED (is 'vigil run' running, with --status 127.0.0.1:${port}?)\n`,
    );
  });

  it.each([
    ["not JSON", "<html>", 200, "answered not JSON"],
    ["another document", '{"hello":1}', 200, "answered not a Vigil status document"],
    ["an HTTP error", "{}", 500, "HTTP 500"],
  ])("%s: exit 1", async (_what, body, code, message) => {
    const port = await fake(body, code);
    const r = await status(["--addr", `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
  });

  it("a server that never answers: an error after the timeout, not a hang", async () => {
    const server: Server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const port = (server.address() as AddressInfo).port;
    expect(await fetchStatus({ host: "127.0.0.1", port }, 50)).toEqual({ error: "no answer within 50 ms" });
  });

  it("a hostile server cannot put control characters on the terminal", async () => {
    const doc = {
      daemon: {
        version: "1\u001b[2J",
        pid: 1,
        configFile: "/c\u0007",
        startTime: "t",
        journal: { path: "/j\u009b", degraded: true },
      },
      instances: [
        {
          name: "VI\u001b]0;owned\u0007",
          interface: "eth0",
          vrid: 1,
          family: "IPv4",
          state: "MASTER\r",
          priority: { effective: 1, base: 2 },
          masterAddress: null,
          masterPriority: null,
          lastTransition: null,
          stats: {},
        },
      ],
      syncGroups: [],
    };
    const port = await fake(JSON.stringify(doc));
    for (const args of [[], ["--json"]]) {
      const r = await status([...args, "--addr", `127.0.0.1:${port}`]);
      expect(r.code).toBe(0);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
      expect(r.out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    }
    expect((await status(["--addr", `127.0.0.1:${port}`])).out).toContain("(DEGRADED");
  });

  it.each([
    [["--addr", "localhost"]],
    [["--addr", "127.0.0.1:0"]],
    [["--addr", "127.0.0.1:70000"]],
    [["--addr", "::1:9118"]],
    [["--bogus"]],
    [["extra"]],
  ])("usage error %j: exit 64", async (args) => {
    const r = await status(args);
    expect(r.code).toBe(64);
    expect(r.err).toContain("usage: vigil status [--addr HOST:PORT] [--json]");
  });

  it("--help: exit 0", async () => {
    const r = await status(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("--addr HOST:PORT");
  });
});

describe("HOST:PORT and vigil run --status / --dump-dir", () => {
  it.each([
    ["127.0.0.1:9118", { host: "127.0.0.1", port: 9118 }],
    ["[::1]:80", { host: "::1", port: 80 }],
    ["[fe80::1%eth0]:80", { host: "fe80::1%eth0", port: 80 }],
    ["status.example:65535", { host: "status.example", port: 65535 }],
    ["1.2.3:80", "bad"],
    ["256.1.1.1:80", "bad"],
    [":80", "bad"],
    ["[::1]", "bad"],
    ["127.0.0.1:080000", "bad"],
    ["127.0.0.1:-1", "bad"],
    ["127.0.0.1: 80", "bad"],
    ["a b:80", "bad"],
    ["[1.2.3.4]:80", "bad"],
  ])("%s", (text, want) => {
    const got = parseHostPort("--status", text);
    if (want === "bad") expect(typeof got).toBe("string");
    else expect(got).toEqual(want);
  });

  const args = (a: string[]) => {
    const spec = {
      invocation: "t",
      synopsis: "",
      summary: "",
      options: {
        status: { type: "string" as const, description: "" },
        "dump-dir": { type: "string" as const, description: "" },
      },
    };
    const p = parseCommandArgs(spec, a);
    if (p.kind !== "ok") throw new Error("parse");
    return runArgs(p.values, p.positionals);
  };

  it("defaults to 127.0.0.1:9118 and /tmp; off disables; a bad address is a usage error", async () => {
    expect(args([])).toMatchObject({ status: { host: "127.0.0.1", port: 9118 }, dumpDir: "/tmp" });
    expect(args(["--status", "off"])).toMatchObject({ status: undefined });
    expect(args(["--status", "[::1]:9000", "--dump-dir", "/run/vigil"])).toMatchObject({
      status: { host: "::1", port: 9000 },
      dumpDir: "/run/vigil",
    });
    expect(args(["--status", "9118"])).toMatch(/--status must be HOST:PORT/);
    expect(args(["--dump-dir", ""])).toBe("the dump directory is empty");
    let err = "";
    const code = await main(["run", "--status", "nope"], {
      stdout: () => {},
      stderr: (t) => {
        err += t;
      },
    });
    expect(code).toBe(64);
    expect(err).toContain("--status must be HOST:PORT");
  });
});
