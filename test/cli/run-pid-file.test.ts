/**
 * The pid file of `vigil run` (src/daemon/pid-file.ts) in temp dirs: created exclusively with our
 * pid; refused while it names a live process; replaced when stale (a dead pid, our own pid, text
 * that is no pid, an empty file); released only while it still holds our pid.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquirePidFile, parsePid, processAlive } from "../../src/daemon/pid-file.ts";

describe("pid file", () => {
  let dir = "";
  let path = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vigil-pid-"));
    path = join(dir, "vigil.pid");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("is created with our pid and removed on release", () => {
    const r = acquirePidFile(path, 4242, () => false);
    expect(r.kind).toBe("acquired");
    expect(readFileSync(path, "utf8")).toBe("4242\n");
    if (r.kind === "acquired") r.release();
    expect(existsSync(path)).toBe(false);
  });

  it("refuses while it names a live process, and leaves it alone", () => {
    writeFileSync(path, "777\n");
    const seen: number[] = [];
    const r = acquirePidFile(path, 4242, (pid) => {
      seen.push(pid);
      return pid === 777;
    });
    expect(r).toEqual({ kind: "running", pid: 777 });
    expect(seen).toEqual([777]);
    expect(readFileSync(path, "utf8")).toBe("777\n");
  });

  it("a second acquire of a held file is refused (the real liveness check)", () => {
    const first = acquirePidFile(path, process.pid);
    expect(first.kind).toBe("acquired");
    // Another process (pid 1 is always alive) finds our live pid there.
    expect(acquirePidFile(path, 1)).toEqual({ kind: "running", pid: process.pid });
    if (first.kind === "acquired") first.release();
    expect(existsSync(path)).toBe(false);
  });

  it.each([
    ["a dead pid", "999\n"],
    ["our own pid (an earlier process that had it)", "4242\n"],
    ["no pid at all", "hello\n"],
    ["an empty file", ""],
    ["pid 0", "0\n"],
    ["a negative pid", "-5\n"],
  ])("replaces a stale file: %s", (_what, text) => {
    writeFileSync(path, text);
    // We (4242) are alive, as we are: our own pid in the file is still stale; 999 is dead.
    const r = acquirePidFile(path, 4242, (pid) => pid === 4242);
    expect(r.kind).toBe("acquired");
    expect(readFileSync(path, "utf8")).toBe("4242\n");
  });

  it("release leaves a file that no longer holds our pid", () => {
    const r = acquirePidFile(path, 4242, () => false);
    writeFileSync(path, "5555\n");
    if (r.kind === "acquired") r.release();
    expect(readFileSync(path, "utf8")).toBe("5555\n");
  });

  it("reports a directory it cannot create in", () => {
    const r = acquirePidFile(join(dir, "missing", "vigil.pid"), 4242, () => false);
    expect(r.kind).toBe("error");
    if (r.kind === "error") expect(r.message).toContain("cannot create pid file");
  });

  it("parses pids strictly", () => {
    expect(parsePid(" 12 \n")).toBe(12);
    expect(parsePid("12abc")).toBeUndefined();
    expect(parsePid("1e3")).toBeUndefined();
    expect(parsePid("99999999999")).toBeUndefined();
  });

  it("knows a live process from a dead one", () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(0x7ffffffe)).toBe(false);
  });
});
