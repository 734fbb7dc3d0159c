/**
 * The LVS checkers as machines of a Node, on the VirtualClock: their timers fire at exact virtual
 * times (1 s bootstrap, delay_loop, delay_before_retry, connect_timeout) as journaled `timer` inputs of
 * actor `vs:NAME`; probe results and starts are journaled `check` inputs; IPVS operations leave as one
 * batch per step. The journal replays with no mismatch and no timer fault (what `vigil replay
 * --verify` checks), a checkpoint taken mid-run continues identically, a reload keeps an unchanged
 * virtual server's state and restarts a changed one, and ports that throw never break a step.
 */
import { describe, expect, test } from "vitest";
import type { ProbeResult, VirtualServerSpec } from "../../machines/checker.machine.ts";
import { decodeAnswer, formatStatus } from "../../src/cli/status-client.ts";
import { createMetrics } from "../../src/daemon/metrics.ts";
import { StatusModel, statusDocument } from "../../src/daemon/status-model.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { decodeEvent, type Event } from "../../src/runtime/input.ts";
import { type JournalLine, MemoryJournal, readJournal } from "../../src/runtime/journal.ts";
import { type CheckPorts, Node, type Output } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import type { NodeSpec } from "../../src/runtime/spec.ts";
import { rs, tcp, VS, vs } from "./support.ts";

type Answer = { result: ProbeResult; delayUs: number } | "never" | "sync";

/** A checks port whose probes answer per `answer`, scheduled on the clock; counts aborts. */
function checksPort(clock: VirtualClock, answer: (n: number) => Answer, draws: number[] = []) {
  let n = 0;
  let aborts = 0;
  const ipvsCalls: string[] = [];
  const port: CheckPorts = {
    probe: (_req, done) => {
      const a = answer(n++);
      if (a === "never") return () => void aborts++;
      if (a === "sync") {
        done({ ok: true });
        return () => {};
      }
      const h = clock.setTimerUs(() => done(a.result), a.delayUs);
      return () => {
        aborts++;
        h.cancel();
      };
    },
    ipvs: (v, ops) => ipvsCalls.push(`${v} ${ops.length}`),
    notify: () => {},
    draws: (_vs, count) => draws.slice(0, count),
  };
  return { port, aborts: () => aborts, ipvsCalls };
}

const daemonInfo = {
  version: "t",
  pid: 1,
  configFile: "k.conf",
  startTime: "2026-11-30T00:00:00.000Z",
  journal: { path: "-", degraded: false },
};

const specOf = (...vss: VirtualServerSpec[]): NodeSpec => ({
  instances: [],
  groups: [],
  trackers: [],
  virtualServers: vss,
});

/** One line per output, at the event's time (`probe` outputs as `probe R.C`). */
const describe1 = (atUs: number, o: Output): string => {
  switch (o.type) {
    case "ipvs":
      return `${atUs} ipvs ${o.ops.map((x) => ("rs" in x ? `${x.op}:${x.rs}:${x.weight}` : x.op)).join(",")}`;
    case "probe":
      return `${atUs} probe ${o.rs}.${o.checker}`;
    case "log":
    case "fifo":
      return `${atUs} ${o.type} ${o.line}`;
    default:
      return `${atUs} ${o.type}`;
  }
};

function run(spec: NodeSpec, port: CheckPorts, clock = new VirtualClock()) {
  const out: string[] = [];
  const journal = new MemoryJournal();
  const node = new Node(spec, {
    clock,
    ports: nullPorts(),
    journal,
    checks: port,
    onApplied: (ev, outputs) => {
      for (const o of outputs) out.push(describe1(ev.atUs, o));
    },
  });
  return { node, out, journal, clock };
}

const verify = (journal: MemoryJournal) => {
  const read = readJournal(journal.lines.join("\n"));
  if (!read.ok) throw new Error(read.error.message);
  const r = replayJournal(read.header, read.lines as JournalLine[]);
  return r;
};

describe("LVS checkers inside a Node", () => {
  test("exact times: bootstrap, retries, timeout; one IPVS batch per step; all of it journaled", () => {
    const clock = new VirtualClock();
    const p = checksPort(clock, (n) =>
      n < 2
        ? { result: { ok: true }, delayUs: 1000 }
        : n === 2
          ? "never"
          : { result: { ok: false }, delayUs: 500_000 },
    );
    const { node, out, journal } = run(
      specOf(vs({ realServers: [rs(1, { checkers: [tcp({ retry: 1 })] })] })),
      p.port,
      clock,
    );
    node.start();
    clock.advanceTo(30_000_000);
    expect(out.filter((l) => !l.includes(" fifo ") || l.includes("VS "))).toEqual([
      "0 ipvs addService,addDest:0:1",
      "0 log Gained quorum 1+0=1 <= 1 for VS [198.18.0.100]:tcp:80",
      "0 fifo VS [198.18.0.100]:tcp:80 UP",
      "0 log Activating healthchecker for service [198.18.0.11]:tcp:80 for VS [198.18.0.100]:tcp:80",
      "1000000 probe 0.0",
      "1001000 log TCP connection to [198.18.0.11]:tcp:80 success.",
      "7001000 probe 0.0",
      "13002000 probe 0.0",
      "16002000 cancelProbe", // connect_timeout 3 s, then a retry 1 s later
      "17002000 probe 0.0",
      "17502000 log TCP_CHECK on service [198.18.0.11]:tcp:80 failed after 1 retries.",
      "17502000 log Removing service [198.18.0.11]:tcp:80 from VS [198.18.0.100]:tcp:80",
      "17502000 ipvs delDest:0:1",
      "17502000 log Lost quorum 1-0=1 > 0 for VS [198.18.0.100]:tcp:80",
      "17502000 fifo VS [198.18.0.100]:tcp:80 DOWN",
      "23502000 probe 0.0",
      "25002000 probe 0.0", // down, yet keepalived still retries a failure at delay_before_retry
    ]);
    expect(p.aborts()).toBe(1);
    // Every input went through the journal: the starts and results as `check`, the timers as `timer` of vs:NAME.
    const inputs = journal.lines
      .filter((l) => l.startsWith('{"t":"in"'))
      .map((l) => decodeEvent((JSON.parse(l) as { ev: unknown }).ev) as Event);
    expect(inputs.filter((e) => e.input.kind === "check").length).toBe(1 + 5); // START + five answers (the probe of 13 s never answered)
    expect(inputs.some((e) => e.input.kind === "timer" && e.input.actor === `vs:${VS}`)).toBe(true);
    clock.advanceTo(31_600_000); // the probe of 31 502 000 is in flight
    node.shutdown();
    expect(node.timers()).toEqual([]);
    expect(node.probesInFlight).toBe(0);
    expect(p.aborts()).toBe(2);
    expect(out.at(-1)).toMatch(/ipvs delService$/);
    const r = verify(journal);
    expect(r.mismatches).toEqual([]);
    expect(r.timerFaults).toEqual([]);
  });

  test("a port that answers synchronously: the answer is a later input, not part of the launching step", () => {
    const clock = new VirtualClock();
    const p = checksPort(clock, () => "sync");
    const { node, out } = run(specOf(vs({ realServers: [rs(1)] })), p.port, clock);
    node.start();
    clock.advanceTo(1_000_000);
    expect(out.slice(-2)).toEqual([
      "1000000 probe 0.0",
      "1000000 log TCP connection to [198.18.0.11]:tcp:80 success.",
    ]);
    expect(node.timers().map((t) => t.key)).toEqual([`vs:${VS} check:0.0`]); // no stray timeout timer
  });

  const busy = (): NodeSpec =>
    specOf(
      vs({
        quorum: 2,
        sorry: { name: "[198.18.0.99]:tcp:80", weight: 1 },
        realServers: [
          rs(1, { inhibit: true }),
          rs(2, { checkers: [tcp({ retry: 2 }), tcp({ kind: "MISC_CHECK", miscDynamic: true, retry: 0 })] }),
        ],
      }),
      vs({
        name: "[198.18.0.101]:tcp:80",
        realServers: [rs(3, { checkers: [tcp({ warmupUs: 5_000_000 })] })],
      }),
    );
  const noisy = (clock: VirtualClock) => {
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    return checksPort(clock, () => {
      const r = rnd();
      return r % 5 === 0
        ? "never"
        : { result: { ok: r % 3 !== 0, exitStatus: r % 7 }, delayUs: (r % 900) * 1000 };
    }, [rnd(), rnd(), rnd(), rnd()]);
  };

  test("a long noisy run replays byte for byte, with every timer explained", () => {
    const clock = new VirtualClock();
    const { node, journal } = run(busy(), noisy(clock).port, clock);
    node.start();
    clock.advanceTo(600_000_000);
    node.shutdown();
    expect(journal.lines.length).toBeGreaterThan(300);
    const r = verify(journal);
    expect(r.mismatches).toEqual([]);
    expect(r.timerFaults).toEqual([]);
    // A tampered result is caught: flip one recorded probe outcome.
    const k = journal.lines.findIndex((l) => l.includes('"kind":"check"') && l.includes('"ok":true'));
    const tampered = new MemoryJournal();
    journal.lines.forEach((l, i) => {
      tampered.append(i === k ? l.replace('"ok":true', '"ok":false') : l);
    });
    expect(verify(tampered).mismatches.length).toBeGreaterThan(0);
  });

  test("a checkpoint taken mid-run continues exactly as the original", () => {
    const clock = new VirtualClock();
    const a = run(busy(), noisy(clock).port, clock);
    a.node.start();
    clock.advanceTo(100_000_000);
    const cp = JSON.parse(JSON.stringify(a.node.checkpoint())) as Parameters<typeof Node.restore>[1];
    expect(Object.keys((cp.state as { checkers: object }).checkers)).toHaveLength(2);
    // The original goes on; a restored copy on its own clock gets the same answers from then on.
    const tail: string[] = [];
    const seqAt = a.out.length;
    clock.advanceTo(200_000_000);
    tail.push(...a.out.slice(seqAt));

    const clock2 = new VirtualClock();
    clock2.advanceTo(100_000_000);
    // Replay the original's recorded inputs after the checkpoint into the restored node.
    const restored = Node.restore(busy(), cp, {
      clock: clock2,
      ports: nullPorts(),
      timerSource: "journal",
    });
    const after = a.journal.lines
      .filter((l) => l.startsWith('{"t":"in"'))
      .map((l) => decodeEvent((JSON.parse(l) as { ev: unknown }).ev) as Event)
      .filter((e) => e.seq > cp.seq);
    const again: string[] = [];
    for (const e of after) {
      clock2.advanceTo(e.atUs);
      for (const o of restored.applyRecorded(e)) again.push(describe1(e.atUs, o));
    }
    expect(again).toEqual(tail);
    expect(tail.length).toBeGreaterThan(20);
  });

  test("a reload keeps an unchanged virtual server's state, stops a removed one and restarts a changed one", () => {
    const clock = new VirtualClock();
    const p = checksPort(clock, () => ({ result: { ok: true }, delayUs: 1000 }));
    const keep = vs({ realServers: [rs(1)] });
    const change = vs({ name: "[198.18.0.101]:tcp:80", realServers: [rs(2)] });
    const gone = vs({ name: "[198.18.0.102]:tcp:80", realServers: [rs(3)] });
    const { node, out, journal } = run(specOf(keep, change, gone), p.port, clock);
    node.start();
    clock.advanceTo(10_000_000);
    const keptState = node.checkerState(keep.name);
    expect(keptState?.phase).toBe("running");
    const changed = { ...change, realServers: [rs(2, { weight: 5 })] };
    const mark = out.length;
    node.input({ kind: "reload", configHash: "h2", spec: specOf(keep, changed) });
    node.startCheckers();
    const reloadOut = out.slice(mark);
    expect(reloadOut.filter((l) => l.includes(" ipvs "))).toEqual([
      "10000000 ipvs delDest:0:1,delService", // [198.18.0.101] stops …
      "10000000 ipvs delDest:0:1,delService", // … and [198.18.0.102] is gone
      "10000000 ipvs addService,addDest:0:5", // the changed one starts with its new weight
    ]);
    expect(node.checkerState(keep.name)).toEqual(keptState); // untouched, and its timer still pending
    expect(node.timers().some((t) => t.key === `vs:${keep.name} check:0.0`)).toBe(true);
    clock.advanceTo(20_000_000);
    node.shutdown();
    const r = verify(journal);
    expect(r.mismatches).toEqual([]);
    expect(r.timerFaults).toEqual([]);
  });

  test("ports that throw never break a step: a probe that cannot start is a failed check", () => {
    const clock = new VirtualClock();
    const port: CheckPorts = {
      probe: () => {
        throw new Error("EMFILE");
      },
      ipvs: () => {
        throw new Error("ipvs down");
      },
      notify: () => {},
      draws: () => [],
    };
    const { node, out } = run(specOf(vs({ realServers: [rs(1), rs(2)] })), port, clock);
    expect(() => {
      node.start();
      clock.advanceTo(20_000_000);
    }).not.toThrow();
    const lines = out.map((l) => l.replace(/^\d+ /, ""));
    expect(lines).toContain("log Checker probe could not start: EMFILE");
    expect(lines).toContain("log LVS effect failed: ipvs down");
    expect(lines).toContain("log TCP_CHECK on service [198.18.0.11]:tcp:80 failed.");
    expect(lines).toContain("log Removing service [198.18.0.11]:tcp:80 from VS [198.18.0.100]:tcp:80");
    expect(node.probesInFlight).toBe(0);
  });

  test("/status, /metrics and `vigil status` show each virtual server's quorum, real servers and checkers", async () => {
    const clock = new VirtualClock();
    // rs 1 answers, rs 2 refuses: after the first round rs 2 is out of IPVS and the quorum of 4 (3 + 1) is lost.
    let n = 0;
    const p = checksPort(clock, () => ({ result: { ok: n++ % 2 === 0 }, delayUs: 1000 }));
    const spec = vs({
      quorum: 4,
      realServers: [rs(1, { weight: 3 }), rs(2, { checkers: [tcp({ retry: 0 })] })],
    });
    const { node } = run(specOf(spec), p.port, clock);
    const daemon = daemonInfo;
    const before = statusDocument(node, new StatusModel(), daemon).virtualServers;
    expect(before.map((v) => v.phase)).toEqual(["idle"]);
    node.start();
    clock.advanceTo(2_000_000);
    const doc = statusDocument(node, new StatusModel(), daemon);
    expect(doc.virtualServers).toEqual([
      {
        name: VS,
        phase: "running",
        quorumUp: false,
        sorryServer: null,
        realServers: [
          {
            name: "[198.18.0.11]:tcp:80",
            alive: true,
            inIpvs: true,
            weight: 3,
            checkers: [{ kind: "TCP_CHECK", up: true }],
          },
          {
            name: "[198.18.0.12]:tcp:80",
            alive: false,
            inIpvs: false,
            weight: 1,
            checkers: [{ kind: "TCP_CHECK", up: false }],
          },
        ],
      },
    ]);
    const text = formatStatus(decodeAnswer(JSON.parse(JSON.stringify(doc))));
    expect(text).toContain(`Virtual server ${VS}, quorum DOWN`);
    expect(text).toContain("  real server [198.18.0.11]:tcp:80: alive, in IPVS, weight 3 (TCP_CHECK up)");
    expect(text).toContain("  real server [198.18.0.12]:tcp:80: DOWN, not in IPVS (TCP_CHECK DOWN)");
    const metrics = await createMetrics({
      node: () => node,
      model: new StatusModel(),
      version: "t",
      startTimeMs: 0,
    }).text();
    const rs1 = `virtual_server="${VS}",real_server="[198.18.0.11]:tcp:80"`;
    const rs2 = `virtual_server="${VS}",real_server="[198.18.0.12]:tcp:80"`;
    expect(metrics).toContain(`vigil_lvs_quorum_up{virtual_server="${VS}"} 0`);
    expect(metrics).toContain(`vigil_lvs_real_server_alive{${rs1}} 1`);
    expect(metrics).toContain(`vigil_lvs_real_server_alive{${rs2}} 0`);
    expect(metrics).toContain(`vigil_lvs_real_server_weight{${rs1}} 3`);
    expect(metrics).not.toContain(`vigil_lvs_real_server_weight{${rs2}}`);
  });

  test("inhibit_on_failure: a failed real server stays in IPVS at weight 0, and says so", async () => {
    const clock = new VirtualClock();
    const p = checksPort(clock, () => ({ result: { ok: false }, delayUs: 1000 }));
    const spec = vs({ realServers: [rs(1, { weight: 4, inhibit: true, checkers: [tcp({ retry: 0 })] })] });
    const { node } = run(specOf(spec), p.port, clock);
    node.start();
    clock.advanceTo(2_000_000);
    const [v] = statusDocument(node, new StatusModel(), daemonInfo).virtualServers;
    expect(v?.realServers[0]).toMatchObject({ alive: false, inIpvs: true, weight: 0 });
    const metrics = await createMetrics({
      node: () => node,
      model: new StatusModel(),
      version: "t",
      startTimeMs: 0,
    }).text();
    expect(metrics).toContain(
      `vigil_lvs_real_server_weight{virtual_server="${VS}",real_server="[198.18.0.11]:tcp:80"} 0`,
    );
  });
});
