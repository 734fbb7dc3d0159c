/**
 * SIGHUP's first step (src/daemon/daemon.ts `reloadConfig`): the file is checked exactly as at
 * start; a file with a fatal error (as keepalived's daemon would refuse it) or one that cannot be
 * read is refused with every diagnostic and one line saying why; a good one, or one with only errors
 * keepalived runs with, is returned. No sockets, no node.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { type DaemonOptions, RELOAD_REFUSED, reloadConfig } from "../../src/daemon/daemon.ts";
import { tempDirForTest } from "../support/temp.ts";

const good = [
  "vrrp_instance VI_1 {",
  "    interface eth0",
  "    virtual_router_id 51",
  "    priority 100",
  "    virtual_ipaddress { 198.18.0.10/24 }",
  "}",
  "",
].join("\n");

const attempt = (text: string | undefined, interfaces: string[] = ["eth0"]) => {
  const dir = tempDirForTest("vigil-reload-conf-");
  const configFile = join(dir, "keepalived.conf");
  if (text !== undefined) writeFileSync(configFile, text);
  const opts: DaemonOptions = {
    configFile,
    configId: undefined,
    journalDir: join(dir, "journal"),
    pidFile: join(dir, "vigil.pid"),
    logFormat: "text",
    dryRun: false,
    host: { interfaces: new Set(interfaces) },
  };
  const lines: string[] = [];
  const config = reloadConfig(opts, (line) => lines.push(line));
  return { config, lines, configFile };
};

describe("reloadConfig", () => {
  test("a valid file is returned and nothing is refused", () => {
    const r = attempt(good);
    expect(r.config?.instances.map((i) => i.name)).toEqual(["VI_1"]);
    expect(r.lines.filter((l) => l.startsWith(RELOAD_REFUSED))).toEqual([]);
  });

  test.each([
    ["an out-of-range VRID", good.replace("virtual_router_id 51", "virtual_router_id 300")],
    ["an instance without a VRID", good.replace("    virtual_router_id 51\n", "")],
  ])("%s (fatal for keepalived too): refused with its diagnostics and one line saying why", (_what, text) => {
    const r = attempt(text);
    expect(r.config).toBeUndefined();
    const refused = r.lines.filter((l) => l.startsWith(RELOAD_REFUSED));
    expect(refused).toEqual([
      expect.stringMatching(
        /^Reload refused: .*keepalived\.conf: \d+ error\(s\) in the configuration - keeping the running configuration$/,
      ),
    ]);
    expect(r.lines.length).toBeGreaterThan(1); // the diagnostics come first
    expect(r.lines.at(-1)).toBe(refused[0]);
  });

  test("an error keepalived runs with (an unclosed block): logged, and the reload goes ahead as a start would", () => {
    const r = attempt(good.replace(/}\n$/, ""));
    expect(r.config?.instances.map((i) => i.name)).toEqual(["VI_1"]);
    expect(r.lines.filter((l) => l.startsWith(RELOAD_REFUSED))).toEqual([]);
    expect(r.lines.at(-1)).toMatch(
      /keepalived\.conf: \d+ error\(s\) that keepalived also runs with - reloading$/,
    );
  });

  test("a file that cannot be read is refused", () => {
    const r = attempt(undefined);
    expect(r.config).toBeUndefined();
    expect(r.lines.at(-1)).toMatch(
      /^Reload refused: .*keepalived\.conf: .* - keeping the running configuration$/,
    );
  });

  test("the host checks run as at start: their warnings are logged, the file is not refused for them", () => {
    const r = attempt(good, ["lo"]);
    expect(r.config).toBeDefined();
    expect(r.lines.some((l) => l.includes("warning") && l.includes("eth0"))).toBe(true);
    expect(r.lines.filter((l) => l.startsWith(RELOAD_REFUSED))).toEqual([]);
  });
});
