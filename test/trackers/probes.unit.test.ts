/**
 * Pure parts and clock-driven parts of the link, process and file probes under the VirtualClock:
 * interface_up_down_delays debounce, track_process matching (comm, full command, param_match) and
 * its delay, and track_file value parsing as keepalived's strtol(…, 0).
 */
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Input } from "../../src/runtime/input.ts";
import { parseTrackFileValue } from "../../src/trackers/file.probe.ts";
import { debounceLinks, type LinkInput } from "../../src/trackers/link.probe.ts";
import {
  type ProcessMatcher,
  processMatcher,
  processMatches,
  processProbes$,
} from "../../src/trackers/process.probe.ts";

const link = (ifname: string, up: boolean): LinkInput => ({ kind: "link", ifname, up });

describe("interface_up_down_delays", () => {
  const setup = () => {
    const clock = new VirtualClock();
    const src = new Subject<LinkInput>();
    const out: Input[] = [];
    const logs: string[] = [];
    const delays = new Map([["eth0", { downDelayUs: 2_000_000, upDelayUs: 1_000_000 }]]);
    const sub = debounceLinks(src, delays, { clock, log: (l) => logs.push(l) }).subscribe((i) => out.push(i));
    return { clock, src, out, logs, sub };
  };

  it("passes the first state at once, then delays a change once the interface was seen up", () => {
    const t = setup();
    t.src.next(link("eth0", true));
    expect(t.out).toEqual([link("eth0", true)]);
    t.src.next(link("eth0", false));
    t.clock.advanceTo(1_999_999);
    expect(t.out).toHaveLength(1);
    t.clock.advanceTo(2_000_000);
    expect(t.out).toEqual([link("eth0", true), link("eth0", false)]);
    t.src.next(link("eth0", true));
    t.clock.advanceTo(2_999_999);
    expect(t.out).toHaveLength(2);
    t.clock.advanceTo(3_000_000);
    expect(t.out.at(-1)).toEqual(link("eth0", true));
    t.sub.unsubscribe();
  });

  it("an opposite change cancels a pending one (a flap is never reported)", () => {
    const t = setup();
    t.src.next(link("eth0", true));
    t.src.next(link("eth0", false));
    t.clock.advanceTo(500_000);
    t.src.next(link("eth0", true));
    t.clock.advanceTo(10_000_000);
    expect(t.out).toEqual([link("eth0", true), link("eth0", true)]);
    expect(t.logs).toContain("Delay timer for eth0 cancelled");
    t.sub.unsubscribe();
  });

  it("no delay before the interface has been seen up, nor for interfaces without delays", () => {
    const t = setup();
    t.src.next(link("eth0", false));
    t.src.next(link("eth0", true));
    t.src.next(link("eth1", true));
    t.src.next(link("eth1", false));
    expect(t.out).toEqual([link("eth0", false), link("eth0", true), link("eth1", true), link("eth1", false)]);
    t.sub.unsubscribe();
  });

  it("unsubscribing cancels pending timers", () => {
    const t = setup();
    t.src.next(link("eth0", true));
    t.src.next(link("eth0", false));
    expect(t.clock.pending).toBe(1);
    t.sub.unsubscribe();
    expect(t.clock.pending).toBe(0);
  });
});

const proc = (
  over: Partial<{
    process: string;
    args: string | null;
    paramMatch: "exact" | "initial" | "partial";
    fullCommand: boolean;
  }>,
): ProcessMatcher =>
  processMatcher({
    name: "p",
    process: "sleep",
    args: null,
    paramMatch: "exact",
    fullCommand: false,
    ...over,
  });
const cmd = (...argv: string[]): Buffer => Buffer.from(argv.map((a) => `${a}\0`).join(""), "latin1");

describe("track_process matching (keepalived check_params)", () => {
  it("matches comm exactly, skipping zombies", () => {
    const m = proc({});
    expect(processMatches(m, { comm: "sleep", cmdline: null })).toBe(true);
    expect(processMatches(m, { comm: "sleeper", cmdline: null })).toBe(false);
    expect(processMatches(m, { comm: null, cmdline: cmd("sleep") })).toBe(false);
  });

  it("full_command compares argv[0] only", () => {
    const m = proc({ process: "/bin/sleep", fullCommand: true });
    expect(processMatches(m, { comm: null, cmdline: cmd("/bin/sleep", "5") })).toBe(true);
    expect(processMatches(m, { comm: null, cmdline: cmd("sleep", "5") })).toBe(false);
    expect(processMatches(m, { comm: null, cmdline: Buffer.alloc(0) })).toBe(false);
  });

  it("arguments: exact by default, partial and initial", () => {
    const exact = proc({ args: "100 x" });
    expect(exact.fullCommand).toBe(true);
    expect(processMatches(exact, { comm: null, cmdline: cmd("sleep", "100", "x") })).toBe(true);
    expect(processMatches(exact, { comm: null, cmdline: cmd("sleep", "100", "xy") })).toBe(false);
    expect(processMatches(exact, { comm: null, cmdline: cmd("sleep", "100", "x", "z") })).toBe(false);
    const partial = proc({ args: "100 x", paramMatch: "partial" });
    expect(processMatches(partial, { comm: null, cmdline: cmd("sleep", "100", "x", "z") })).toBe(true);
    expect(processMatches(partial, { comm: null, cmdline: cmd("sleep", "100", "xy") })).toBe(false);
    const initial = proc({ args: "100 x", paramMatch: "initial" });
    expect(processMatches(initial, { comm: null, cmdline: cmd("sleep", "100", "xy") })).toBe(true);
    expect(processMatches(initial, { comm: null, cmdline: cmd("sleep", "100", "x", "z") })).toBe(true);
    expect(processMatches(initial, { comm: null, cmdline: cmd("sleep", "10") })).toBe(false);
  });

  it("param_match without arguments needs the command line but accepts any arguments", () => {
    const m = proc({ paramMatch: "partial" });
    expect(m.fullCommand).toBe(true);
    expect(processMatches(m, { comm: null, cmdline: cmd("sleep", "1") })).toBe(true);
  });
});

describe("track_process probe", () => {
  it("reports the first count at once, then verdict changes after the delay; a returning verdict cancels", () => {
    const clock = new VirtualClock();
    let n = 0;
    const out: Input[] = [];
    const spec = {
      matcher: proc({}),
      quorum: 1,
      quorumMax: 2,
      gainDelayUs: 3_000_000,
      lossDelayUs: 2_000_000,
    };
    const sub = processProbes$([spec], {
      clock,
      log: () => {},
      scanIntervalMs: 1000,
      scan: () => new Map([["p", n]]),
    }).subscribe((i) => out.push(i));
    clock.advanceTo(0);
    expect(out).toEqual([{ kind: "probe", tracker: "p", ok: false, running: 0 }]);
    n = 1;
    clock.advanceTo(1_000_000); // gained: wait 3 s
    clock.advanceTo(3_999_999);
    expect(out).toHaveLength(1);
    clock.advanceTo(4_000_000);
    expect(out.at(-1)).toEqual({ kind: "probe", tracker: "p", ok: true, running: 1 });
    n = 3; // above quorum_max: lost, wait 2 s ...
    clock.advanceTo(5_000_000);
    n = 2; // ... but back in range before it ran out
    clock.advanceTo(6_000_000);
    clock.advanceTo(20_000_000);
    expect(out).toHaveLength(2);
    sub.unsubscribe();
    expect(clock.pending).toBe(0);
  });
});

describe("track_file value (keepalived strtol(buf, NULL, 0))", () => {
  const v = (s: string) => parseTrackFileValue(Buffer.from(s, "latin1"));
  it("parses like strtol with base 0", () => {
    expect(v("80\n")).toEqual({ value: 80 });
    expect(v("  -12abc")).toEqual({ value: -12 });
    expect(v("+7")).toEqual({ value: 7 });
    expect(v("0x1f")).toEqual({ value: 31 });
    expect(v("010")).toEqual({ value: 8 });
    expect(v("09")).toEqual({ value: 0 });
    expect(v("0x")).toEqual({ value: 0 });
    expect(v("")).toEqual({ value: 0 });
    expect(v("abc")).toEqual({ value: 0 });
    expect(v("\n\n5")).toEqual({ value: 5 });
  });
  it("values outside [INT32_MIN, INT32_MAX+1] are ignored with keepalived's number", () => {
    expect(v("2147483648")).toEqual({ value: 2147483648 });
    expect(v("2147483649")).toEqual({ invalid: "2147483649" });
    expect(v("-2147483649")).toEqual({ invalid: "-2147483649" });
    expect(v("99999999999999999999999")).toEqual({ invalid: "9223372036854775807" });
  });
  it("reads at most 127 bytes, and stops at a NUL", () => {
    expect(v(`${" ".repeat(126)}12`)).toEqual({ value: 1 });
    expect(v("4\u00005")).toEqual({ value: 4 });
  });
});
