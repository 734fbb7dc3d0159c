/**
 * DNS_CHECK's probe against a UDP server on loopback that records each query and answers as told:
 * the query's exact bytes (id, RD, one question, QNAME labels, type, class IN; the root for no name
 * and for "."), rcode 0 passes, another rcode fails with keepalived's line, datagrams keepalived
 * skips (another id, no response bit, under 8 bytes) are skipped, silence times out, a closed port
 * (ICMP) fails at once, bindto is the source. Also DNS_CHECK's `type` and `name` lines as keepalived
 * parses them. Every socket is closed.
 */
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { type DnsTarget, dnsProbe, dnsQuery } from "../../src/lvs/dns.probe.ts";
import type { NetProbeResult } from "../../src/lvs/net.probe.ts";
import { configProbePort } from "./probe-support.ts";

const udpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === "UDPWrap").length;

interface Udp {
  socket: Socket;
  port: number;
  queries: { msg: Buffer; from: string }[];
}

const servers: Udp[] = [];
/** A UDP server that records queries and sends `reply(query)` datagrams back. */
async function udpServer(reply: (q: Buffer) => Buffer[]): Promise<Udp> {
  const socket = createSocket("udp4");
  const u: Udp = { socket, port: 0, queries: [] };
  socket.on("message", (msg, rinfo) => {
    u.queries.push({ msg, from: rinfo.address });
    for (const d of reply(msg)) socket.send(d, rinfo.port, rinfo.address);
  });
  await new Promise<void>((ok) => socket.bind(0, "127.0.0.1", ok));
  u.port = socket.address().port;
  servers.push(u);
  return u;
}

afterAll(async () => {
  for (const s of servers) await new Promise<void>((ok) => s.socket.close(() => ok()));
  // A closed socket's handle goes on the next turns of the loop.
  for (let i = 0; i < 50 && udpHandles() > 0; i++) await new Promise((ok) => setTimeout(ok, 10));
  expect(udpHandles()).toBe(0);
});

/** A response to `q`: same id, QR set, this rcode (and the question echoed). */
const response = (q: Buffer, rcode: number, over: { id?: number; qr?: boolean } = {}): Buffer => {
  const r = Buffer.from(q);
  r.writeUInt16BE(over.id ?? q.readUInt16BE(0), 0);
  r.writeUInt16BE((over.qr === false ? 0 : 0x8000) | 0x0100 | 0x0080 | rcode, 2);
  return r;
};

const target = (port: number, over: Partial<DnsTarget> = {}): DnsTarget => ({
  host: "127.0.0.1",
  port,
  bindTo: null,
  timeoutMs: 300,
  label: `[127.0.0.1]:udp:${port}`,
  type: null,
  name: null,
  ...over,
});

const run = (t: DnsTarget): Promise<NetProbeResult> =>
  new Promise((resolve) => {
    let calls = 0;
    dnsProbe(t, (r) => {
      calls++;
      setTimeout(() => resolve(calls === 1 ? r : { ok: false, reason: "reported twice" }), 30);
    });
  });

describe("DNS_CHECK probe", () => {
  test("the query bytes: id, RD, one question, labels, type and class IN", () => {
    const hex = (b: Buffer): string => b.toString("hex");
    expect(hex(dnsQuery(0x1234, "A", "www.example.com"))).toBe(
      `123401000001000000000000${"03777777076578616d706c6503636f6d00"}00010001`,
    );
    // No name and "." are both the root; the default type is SOA (6); the type ignores case.
    const root = "1234010000010000000000000000060001";
    expect(hex(dnsQuery(0x1234, null, null))).toBe(root);
    expect(hex(dnsQuery(0x1234, null, "."))).toBe(root);
    expect(hex(dnsQuery(0x1234, "aaaa", "example.com."))).toBe(
      `123401000001000000000000${"076578616d706c6503636f6d00"}001c0001`,
    );
  });

  test("rcode 0 passes; another rcode fails; skipped datagrams wait for the real answer", async () => {
    const ok = await udpServer((q) => [response(q, 0)]);
    expect(await run(target(ok.port, { type: "A", name: "www.example.com" }))).toEqual({ ok: true });
    expect(ok.queries[0]?.msg.subarray(2).toString("hex")).toBe(
      dnsQuery(0, "A", "www.example.com").subarray(2).toString("hex"),
    );
    const nx = await udpServer((q) => [response(q, 3)]);
    expect(await run(target(nx.port))).toEqual({
      ok: false,
      reason: "read error occurred. (rcode = 3)",
    });
    const noisy = await udpServer((q) => [
      response(q, 0, { id: (q.readUInt16BE(0) + 1) & 0xffff }),
      response(q, 0, { qr: false }),
      response(q, 0).subarray(0, 7),
      response(q, 2).subarray(0, 8), // 8 bytes are enough for keepalived: this one decides
    ]);
    expect(await run(target(noisy.port))).toEqual({
      ok: false,
      reason: "read error occurred. (rcode = 2)",
    });
  });

  test("silence times out, a closed port fails at once, bindto is the source", async () => {
    const mute = await udpServer(() => []);
    const t0 = Date.now();
    expect(await run(target(mute.port, { timeoutMs: 200 }))).toEqual({
      ok: false,
      timedOut: true,
      reason: "read timeout from socket",
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const closed = await udpServer(() => []);
    const port = closed.port;
    await new Promise<void>((ok) => closed.socket.close(() => ok()));
    servers.splice(servers.indexOf(closed), 1);
    const r = await run(target(port, { timeoutMs: 2000 }));
    // keepalived's dns_recv_thread: `failed to read socket; errno %d (%s)`
    expect(r).toEqual({ ok: false, reason: "failed to read socket; errno 111 (Connection refused)" });
    const ok = await udpServer((q) => [response(q, 0)]);
    expect(await run(target(ok.port, { bindTo: "127.0.0.3" }))).toEqual({ ok: true });
    expect(ok.queries[0]?.from).toBe("127.0.0.3");
    // A bind that fails is no verdict: keepalived's two lines at once, then delay_loop (Rescheduling).
    const taken = ok.socket.address();
    expect(await run(target(ok.port, { bindTo: taken.address, bindPort: taken.port }))).toEqual({
      ok: false,
      rescheduled: true,
      lines: [
        "Checker bind failed: Address already in use",
        `DNS_CHECK ([127.0.0.1]:udp:${ok.port}) UDP socket bind failed. Rescheduling.`,
      ],
    });
    let reported = false;
    const cancel = dnsProbe(target(mute.port), () => {
      reported = true;
    });
    cancel();
    await new Promise((res) => setTimeout(res, 50));
    expect(reported).toBe(false);
  });
});

describe("DNS_CHECK through the probe port", () => {
  test("a configured DNS_CHECK runs: connect_ip/connect_port, its type and name reach the server", async () => {
    const srv = await udpServer((q) => [response(q, 0)]);
    const dir = mkdtempSync(join(tmpdir(), "vigil-dns-"));
    try {
      const { run } = configProbePort(
        dir,
        `virtual_server 198.18.0.100 53 {
  protocol UDP
  lvs_method NAT
  lvs_sched rr
  real_server 198.18.0.11 53 {
    DNS_CHECK {
      connect_ip 127.0.0.1
      connect_port ${srv.port}
      connect_timeout 1
      type MX
      name example.org
    }
  }
}
`,
      );
      const r = await run({ vs: 0, rs: 0, checker: 0, url: null });
      expect(r).toEqual({ ok: true });
      expect(srv.queries[0]?.msg.subarray(2).toString("hex")).toBe(
        dnsQuery(0, "MX", "example.org").subarray(2).toString("hex"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("DNS_CHECK keywords", () => {
  test("type ignores case; name keeps the first, refuses empty labels as keepalived's scan does", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-dns-"));
    try {
      const file = join(dir, "k.conf");
      const checker = (lines: string): string => `    DNS_CHECK {\n${lines}\n    }`;
      writeFileSync(
        file,
        `virtual_server 198.18.0.100 53 {
  protocol UDP
  lvs_method NAT
  lvs_sched rr
  real_server 198.18.0.11 53 {
${checker("      type aaaa\n      name example.com\n      name other.example")}
${checker("      type BOGUS\n      name a..b")}
${checker("      name .example")}
${checker("      name a.example")}
${checker("      name .")}
  }
}
`,
      );
      const { runnable, diagnostics } = loadConfig(file, { configId: "lb1" });
      const messages = diagnostics.map((d) => d.message).filter((m) => /DNS/.test(m));
      expect(messages).toEqual([
        "DNS_CHECK name already specified - ignoring",
        "Unknown DNS check type BOGUS - ignoring",
        "DNS_CHECK name 'a..b' has empty label - ignoring",
        "DNS_CHECK name '.example' has empty label - ignoring",
        "DNS_CHECK name 'a.example' has empty label - ignoring",
      ]);
      const cs = runnable?.virtualServers[0]?.realServers[0]?.checkers ?? [];
      expect(cs.map((c) => [c.dnsType, c.dnsName])).toEqual([
        ["AAAA", "example.com"],
        [null, null],
        [null, null],
        [null, null],
        [null, "."],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
