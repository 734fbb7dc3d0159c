/**
 * The status server on loopback, in front of a Node on the VirtualClock (status-rig.ts): `/status`
 * reflects states, priorities, the master's address (own when MASTER, the advert's source when
 * BACKUP), transitions, counters, sync groups and the daemon; `/metrics` parses back with every
 * stats.ts counter per instance and grows; `/events` streams applied events and forgets a client
 * that leaves; a slow client's events are dropped and counted, never buffered without bound;
 * other paths 404, other methods 405; a port in use is one log line, not a crash; an instance list
 * changed under the server (a reload) shows at the next request.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { STATS_COUNTERS, statMetricName } from "../../src/daemon/metrics.ts";
import { journalStatus } from "../../src/daemon/observe.ts";
import type { NodeView, StatusDocument } from "../../src/daemon/status-model.ts";
import { type EventSink, EventStreams, type StatusServer } from "../../src/daemon/status-server.ts";
import { http, type Rig, rig, S, serveRig, until } from "./status-rig.ts";

const servers: StatusServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function serve(r: Rig, logs: string[] = [], node: () => NodeView = () => r.node, port = 0) {
  const s = await serveRig(r, { log: (l) => void logs.push(l), node, port });
  if (s !== undefined) servers.push(s);
  return s;
}

/** Prometheus text → `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`bad metrics line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
  }
  return out;
}
const labels = (instance: string, vrid: number) =>
  `{instance="${instance}",interface="eth0",vrid="${vrid}",family="ipv4"}`;

describe("GET /status", () => {
  it("shows each instance's state, priorities, master address, last transition and counters", async () => {
    const r = rig();
    r.clock.advanceBy(5 * S); // VI_1 (priority 150, state MASTER) takes over after its down timer
    r.advert(52, 200, ["198.18.0.101"]); // VI_2 (MASTER by then) hears a master at priority 200
    r.clock.advanceBy(S / 2);
    const s = await serve(r);
    const a = await http(s?.port ?? 0, "/status");
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toMatch(/^application\/json/);
    const doc = JSON.parse(a.body) as StatusDocument;
    expect(doc.daemon).toEqual({
      version: "9.9.9",
      pid: 4242,
      configFile: "/etc/keepalived/keepalived.conf",
      startTime: "2027-01-15T08:00:00.000Z",
      journal: { path: "/var/lib/vigil/journal.000001.jsonl", degraded: false },
    });
    const [vi1, vi2] = doc.instances;
    expect(vi1).toMatchObject({
      name: "VI_1",
      interface: "eth0",
      vrid: 51,
      family: "IPv4",
      state: "MASTER",
      priority: { effective: 150, base: 150 },
      masterAddress: "198.18.0.1",
      masterPriority: 150,
      syncGroup: "G1",
      vips: ["198.18.0.100/24"],
    });
    expect(vi1?.lastTransition?.from).toBe("BACKUP");
    expect(vi1?.lastTransition?.to).toBe("MASTER");
    // Down timer 3 × 1 s + (256 − 150)/256 s after start: keepalived's integer µs.
    expect(vi1?.lastTransition?.atUs).toBe(3_414_062);
    expect(vi1?.lastTransition?.at).toBe(new Date(1_800_000_000_000 + 3414).toISOString());
    expect(vi1?.transitions).toBe(2); // INIT → BACKUP → MASTER
    expect(vi1?.stats.become_master).toBe(1);
    expect(vi1?.stats.advert_sent).toBeGreaterThanOrEqual(2);
    expect(vi2).toMatchObject({
      name: "VI_2",
      vrid: 52,
      state: "BACKUP",
      priority: { effective: 100, base: 100 },
      masterAddress: "198.18.0.2",
      masterPriority: 200,
      syncGroup: null,
      lastTransition: { from: "MASTER", to: "BACKUP" },
      transitions: 3,
    });
    expect(vi2?.stats.advert_rcvd).toBe(1);
    expect(Object.keys(vi2?.stats ?? {})).toEqual([...STATS_COUNTERS]);
    expect(doc.syncGroups).toEqual([{ name: "G1", state: "MASTER", members: ["VI_1"] }]);
  });

  it("a BACKUP that has heard no master shows none; a degraded journal is reported", async () => {
    const r = rig(undefined, { degraded: true });
    const s = await serve(r);
    const doc = JSON.parse((await http(s?.port ?? 0, "/status")).body) as StatusDocument;
    expect(doc.instances.map((i) => [i.state, i.masterAddress, i.masterPriority])).toEqual([
      ["BACKUP", null, null],
      ["BACKUP", null, null],
    ]);
    expect(doc.daemon.journal.degraded).toBe(true);
  });

  it("reads the instance list at each request (a reload may add or remove instances)", async () => {
    const r = rig();
    let only1 = false;
    const view: NodeView = {
      get spec() {
        const spec = r.node.spec;
        return only1 ? { ...spec, instances: spec.instances.slice(0, 1) } : spec;
      },
      state: (n) => r.node.state(n),
      priority: (n) => r.node.priority(n),
      stats: (n) => r.node.stats(n),
      checkpoint: () => r.node.checkpoint(),
      checkerState: (vs) => r.node.checkerState(vs),
    };
    const s = await serve(r, [], () => view);
    const names = async () =>
      (JSON.parse((await http(s?.port ?? 0, "/status")).body) as StatusDocument).instances.map((i) => i.name);
    expect(await names()).toEqual(["VI_1", "VI_2"]);
    only1 = true;
    expect(await names()).toEqual(["VI_1"]);
    const m = parseMetrics((await http(s?.port ?? 0, "/metrics")).body);
    expect(m.has(`vigil_vrrp_state${labels("VI_1", 51)}`)).toBe(true);
    expect(m.has(`vigil_vrrp_state${labels("VI_2", 52)}`)).toBe(false);
  });
});

describe("GET /metrics", () => {
  it("parses back: state, priorities, transitions and every stats.ts counter per instance, growing", async () => {
    const r = rig();
    r.clock.advanceBy(5 * S);
    const s = await serve(r);
    const a = await http(s?.port ?? 0, "/metrics");
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseMetrics(a.body);
    expect(m.get(`vigil_vrrp_state${labels("VI_1", 51)}`)).toBe(2);
    expect(m.get(`vigil_vrrp_state${labels("VI_2", 52)}`)).toBe(2);
    expect(m.get(`vigil_vrrp_effective_priority${labels("VI_1", 51)}`)).toBe(150);
    expect(m.get(`vigil_vrrp_base_priority${labels("VI_2", 52)}`)).toBe(100);
    expect(m.get(`vigil_vrrp_transitions_total${labels("VI_1", 51)}`)).toBe(2);
    expect(m.get('vigil_vrrp_sync_group_state{group="G1"}')).toBe(2);
    expect(m.get('vigil_info{version="9.9.9"}')).toBe(1);
    expect(m.get("vigil_start_time_seconds")).toBe(1_800_000_000);
    for (const [name, vrid] of [
      ["VI_1", 51],
      ["VI_2", 52],
    ] as const)
      for (const c of STATS_COUNTERS) {
        const key = `${statMetricName(c)}${labels(name, vrid)}`;
        expect(m.get(key), key).toBe(r.node.stats(name)?.[c]);
      }
    expect(a.body).toContain("# TYPE vigil_vrrp_advert_sent_total counter");
    const sent = m.get(`vigil_vrrp_advert_sent_total${labels("VI_1", 51)}`) ?? 0;
    expect(sent).toBeGreaterThan(0);
    r.clock.advanceBy(3 * S);
    const later = parseMetrics((await http(s?.port ?? 0, "/metrics")).body);
    expect(later.get(`vigil_vrrp_advert_sent_total${labels("VI_1", 51)}`)).toBe(sent + 3);
  });
});

describe("GET /events", () => {
  it("streams applied events as JSON and forgets a client that disconnects", async () => {
    const r = rig();
    const s = await serve(r);
    let text = "";
    const req = request({ host: "127.0.0.1", port: s?.port ?? 0, path: "/events" });
    const opened = new Promise<string | undefined>((resolve) =>
      req.on("response", (res) => {
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        resolve(res.headers["content-type"]);
      }),
    );
    req.end();
    expect(await opened).toMatch(/^text\/event-stream/);
    await until("the stream to be registered", () => s?.events().clients === 1);
    expect(r.model.listeners).toBe(1);
    r.clock.advanceBy(5 * S);
    await until("a state change on the stream", () => text.includes("BACKUP -> MASTER"));
    const events = text
      .split("\n\n")
      .filter((b) => b.startsWith("id: "))
      .map((b) => {
        const [id, data] = b.split("\n");
        const e = JSON.parse((data ?? "").replace(/^data: /, "")) as {
          seq: number;
          atUs: number;
          input: { kind: string; text: string };
          outputs: string[];
        };
        expect(id).toBe(`id: ${e.seq}`);
        return e;
      });
    const change = events.find((e) => e.outputs.includes("instance:VI_1 BACKUP -> MASTER"));
    expect(change?.input).toEqual({ kind: "timer", text: "instance:VI_1 masterDown" });
    expect(change?.atUs).toBe(3_414_062);
    expect(change?.outputs).toContain("addVips VI_1 198.18.0.100/24");
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    req.destroy();
    await until("the client to be removed", () => s?.events().clients === 0);
    expect(r.model.listeners).toBe(0);
  });

  it("a slow client: events beyond its buffer bound are dropped and counted, then it is told", () => {
    const r = rig();
    const streams = new EventStreams(r.model, 100);
    const written: string[] = [];
    let backlog = 0;
    const sink: EventSink = {
      write: (c) => {
        written.push(c);
        return true;
      },
      get writableLength() {
        return backlog;
      },
      end: () => {},
    };
    streams.add(sink);
    r.clock.advanceBy(5 * S);
    const before = written.length;
    expect(before).toBeGreaterThan(0);
    backlog = 101; // the client stopped reading: nothing more is queued for it
    r.clock.advanceBy(10 * S);
    expect(written.length).toBe(before);
    const dropped = streams.dropped;
    expect(dropped).toBeGreaterThan(5);
    backlog = 0;
    r.clock.advanceBy(S);
    expect(written[before]).toBe(`event: dropped\ndata: {"dropped":${dropped}}\n\n`);
    expect(written[before + 1]).toMatch(/^id: \d+\ndata: \{/);
    streams.remove(sink);
    expect(r.model.listeners).toBe(0);
  });

  it("a real client that stops reading: its backlog stops growing, events are dropped and counted", async () => {
    const r = rig();
    r.clock.advanceBy(5 * S);
    const s = await serveRig(r, { maxBufferedBytes: 64 * 1024 });
    if (s !== undefined) servers.push(s);
    const req = request({ host: "127.0.0.1", port: s?.port ?? 0, path: "/events" });
    const paused = new Promise<void>((resolve) =>
      req.on("response", (res) => {
        res.pause();
        res.socket.pause();
        resolve();
      }),
    );
    req.end();
    await paused;
    await until("the stream", () => s?.events().clients === 1);
    // Link flaps: each one a journaled event with several outputs (~0.5 kB on the stream).
    for (let i = 0; i < 40 && (s?.events().dropped ?? 0) === 0; i++) {
      for (let k = 0; k < 1000; k++) r.node.input({ kind: "link", ifname: "eth0", up: k % 2 === 1 });
      for (let k = 0; k < 20; k++) await new Promise((res) => setImmediate(res));
    }
    expect(s?.events().dropped).toBeGreaterThan(0);
    expect(s?.events().clients).toBe(1);
    req.destroy();
    await until("the client to be removed", () => s?.events().clients === 0);
  });

  it("a stream or listener that throws is dropped; the node's event loop never sees it", () => {
    const r = rig();
    const streams = new EventStreams(r.model, 1024);
    streams.add({
      write: () => {
        throw new Error("ERR_STREAM_DESTROYED");
      },
      writableLength: 0,
      end: () => {},
    });
    let calls = 0;
    r.model.subscribe(() => {
      calls++;
      throw new Error("listener bug");
    });
    expect(() => r.clock.advanceBy(5 * S)).not.toThrow();
    expect(r.node.state("VI_1")).toBe("MASTER");
    expect(streams.clients).toBe(0);
    expect(calls).toBe(1);
    expect(r.model.listeners).toBe(0);
  });

  it("refuses streams beyond maxClients with 503", async () => {
    const r = rig();
    const s = await serveRig(r, { maxClients: 0 });
    if (s !== undefined) servers.push(s);
    expect((await http(s?.port ?? 0, "/events")).status).toBe(503);
  });
});

describe("everything else", () => {
  it("404 for other paths, 405 for other methods, nothing changes state", async () => {
    const r = rig();
    r.clock.advanceBy(5 * S);
    const s = await serve(r);
    const port = s?.port ?? 0;
    const seq = r.node.seq;
    for (const p of [
      "/index.html",
      "/assets/",
      "/status/",
      "/STATUS",
      "/statusx",
      "/metrics/x",
      "//status",
      "/events/",
      "/%00",
    ])
      expect((await http(port, p)).status, p).toBe(404);
    for (const m of ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
      for (const p of ["/status", "/metrics", "/events", "/", "/assets/echarts.min.js"]) {
        const a = await http(port, p, m);
        expect(a.status, `${m} ${p}`).toBe(405);
        expect(a.headers.allow).toBe("GET");
      }
    expect((await http(port, "/status?verbose=1")).status).toBe(200);
    expect(r.node.seq).toBe(seq);
  });

  it("a port in use: one clear log line, no server, no exception", async () => {
    const r = rig();
    const first = await serve(r);
    const logs: string[] = [];
    const second = await serve(r, logs, () => r.node, first?.port ?? 0);
    expect(second).toBeUndefined();
    expect(logs).toEqual([
      `Status server: cannot listen on 127.0.0.1:${first?.port}: EADDRINUSE - VRRP keeps running without it`,
    ]);
  });
});

describe("the journal's degraded flag in /status", () => {
  it("shows the file journal's `degraded`: false, or since when, why and how many lines were lost", () => {
    expect(journalStatus("/j", false)).toEqual({ path: "/j", degraded: false });
    expect(journalStatus("/j", undefined)).toEqual({ path: "/j", degraded: false });
    expect(journalStatus("/j", { sinceMs: 1_800_000_000_000, reason: "ENOSPC", lostLines: 12 })).toEqual({
      path: "/j",
      degraded: true,
      since: "2027-01-15T08:00:00.000Z",
      reason: "ENOSPC",
      lostLines: 12,
    });
  });
});
