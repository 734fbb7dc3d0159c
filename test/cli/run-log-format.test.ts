/**
 * The log formats of `vigil run`: text is keepalived's console form (`%c` in the C locale, local
 * time, day padded with a space); json is a pino record per line (level, the injected time, pid,
 * hostname, detail, msg) with a level saying what the line's origin knows. Both terminal-safe,
 * whatever the line holds (names and addresses come from configuration files and the network).
 */
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { jsonLog } from "../../src/daemon/json-log.ts";
import { consoleTime, formatTextLine, logLevel, terminalSafeRecord } from "../../src/daemon/log-format.ts";

/** Every record `write` received, as written. */
const capture = () => {
  const out: string[] = [];
  return { out, log: jsonLog((t) => out.push(t)) };
};

/** Code points a terminal may act on or that must not reach it raw, and pino's format markers. */
const HOSTILE = [
  "\x1b[2J\x1b]0;pwned\x07",
  "\u009b31m\u0085\u008d\u009d",
  "\u202e\u2066\u200b\ufeff\u00ad",
  "\u2028\u2029",
  "\ud800",
  "x\udfff",
  "\x7f\x00",
  'a "quoted" \\ back\\slash',
  "%s %d %j %o %O %% %",
  "line\nforged: (VI_1) Entering MASTER STATE",
  `${"long ".repeat(40)}\u0090\ud83d`,
];

/** Raw characters that must never appear in the output (outside `\u` escapes). */
const RAW_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

describe("log formats", () => {
  const at = new Date(2026, 10, 29, 0, 12, 3); // local time: Sun Nov 29 2026
  it("text: keepalived's console line", () => {
    expect(formatTextLine(at, "(VI_1) Entering MASTER STATE")).toBe(
      "Sun Nov 29 00:12:03 2026: (VI_1) Entering MASTER STATE\n",
    );
  });
  it("text: a one-digit day is padded with a space, as %e", () => {
    expect(consoleTime(new Date(2026, 0, 5, 9, 8, 7))).toBe("Mon Jan  5 09:08:07 2026");
  });
  it("text: control characters cannot forge lines or reach the terminal", () => {
    const out = formatTextLine(at, "(VI\x1b[2J_1)\nFake line");
    expect(out.split("\n")).toHaveLength(2);
    expect(out).not.toContain("\x1b");
  });

  it("levels: the caller's severity, else debug for keepalived's detail lines, info otherwise", () => {
    expect(logLevel(false)).toBe("info");
    expect(logLevel(true)).toBe("debug");
    expect(logLevel(false, "warn")).toBe("warn");
    expect(logLevel(true, "error")).toBe("error");
  });

  it("json: one pino record per line, with the injected time, pid, hostname, detail and msg", () => {
    const { out, log } = capture();
    log(at, "(VI_1) Entering MASTER STATE", false);
    const later = new Date(Date.UTC(2031, 0, 2, 3, 4, 5, 678));
    log(later, "(VI_1) Backup received priority 0 advertisement", true);
    log(at, "journal: cannot write j.jsonl: ENOSPC", false, "error");
    log(at, "k.conf: 1 error(s) that keepalived also runs with - starting", false, "warn");
    expect(out).toHaveLength(4);
    for (const r of out) {
      expect(r.endsWith("\n")).toBe(true);
      expect(r.slice(0, -1)).not.toContain("\n");
    }
    const records = out.map((r) => JSON.parse(r) as Record<string, unknown>);
    expect(records[0]).toEqual({
      level: 30,
      time: at.toISOString(),
      pid: process.pid,
      hostname: hostname(),
      detail: false,
      msg: "(VI_1) Entering MASTER STATE",
    });
    // pino's field order: level, time, pid, hostname, then ours
    expect(Object.keys(records[0] ?? {})).toEqual(["level", "time", "pid", "hostname", "detail", "msg"]);
    expect(records[1]).toMatchObject({ level: 20, time: "2031-01-02T03:04:05.678Z", detail: true });
    expect(records[2]).toMatchObject({
      level: 50,
      detail: false,
      msg: "journal: cannot write j.jsonl: ENOSPC",
    });
    expect(records[3]?.level).toBe(40);
  });

  it("json: written in the logging call, with no thread, transport or pending write left behind", () => {
    const before = process.getActiveResourcesInfo().length;
    const { out, log } = capture();
    log(at, "Stopped", false);
    expect(out).toHaveLength(1); // synchronous: out before the call returns
    expect(process.getActiveResourcesInfo().length).toBe(before);
  });

  it("json: hostile lines keep their value, are never interpolated, and reach no terminal raw", () => {
    const { out, log } = capture();
    for (const line of HOSTILE) log(at, line, false);
    expect(out).toHaveLength(HOSTILE.length);
    out.forEach((r, i) => {
      expect(r.slice(0, -1), JSON.stringify(r)).not.toMatch(RAW_UNSAFE);
      expect((JSON.parse(r) as { msg: string }).msg).toBe(HOSTILE[i]);
    });
  });

  it("terminalSafeRecord: escapes what JSON.stringify and pino leave raw, keeping the value", () => {
    const raw = `{"msg":"\u0085\u202e\ud800 ok é 😀"}`;
    const safe = terminalSafeRecord(raw);
    expect(safe).toBe('{"msg":"\\u0085\\u202e\\ud800 ok é 😀"}');
    expect(JSON.parse(safe)).toEqual(JSON.parse(raw));
    expect(terminalSafeRecord(safe)).toBe(safe);
  });
});
