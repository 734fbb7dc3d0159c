/**
 * The log formats of `vigil run`: text is keepalived's console form (`%c` in the C locale, local
 * time, day padded with a space), json one object per line; both terminal-safe.
 */
import { describe, expect, it } from "vitest";
import { consoleTime, formatLogLine } from "../../src/daemon/log-format.ts";

describe("log formats", () => {
  const at = new Date(2026, 10, 29, 0, 12, 3); // local time: Sun Nov 29 2026
  it("text: keepalived's console line", () => {
    expect(formatLogLine("text", at, "(VI_1) Entering MASTER STATE", false)).toBe(
      "Sun Nov 29 00:12:03 2026: (VI_1) Entering MASTER STATE\n",
    );
  });
  it("text: a one-digit day is padded with a space, as %e", () => {
    expect(consoleTime(new Date(2026, 0, 5, 9, 8, 7))).toBe("Mon Jan  5 09:08:07 2026");
  });
  it("text: control characters cannot forge lines or reach the terminal", () => {
    const out = formatLogLine("text", at, "(VI\x1b[2J_1)\nFake line", true);
    expect(out.split("\n")).toHaveLength(2);
    expect(out).not.toContain("\x1b");
  });
  it("json: one object per line with ISO time, message and detail flag", () => {
    const out = formatLogLine("json", at, 'a "quoted"\nline\u202e', true);
    expect(out.endsWith("\n")).toBe(true);
    expect(out.slice(0, -1)).not.toContain("\n");
    expect(out).not.toContain("\u202e");
    expect(JSON.parse(out)).toEqual({ time: at.toISOString(), msg: 'a "quoted"\nline\u202e', detail: true });
  });
});
