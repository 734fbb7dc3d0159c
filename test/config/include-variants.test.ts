/**
 * `include` and its variants (`includer|m|w|b|a`) against the real keepalived 2.2.7 when names are
 * missing: a plain file, a directory that is not there, a wildcard matching nothing, a brace
 * pattern with one name missing, each with the plain keyword and the variant that makes it an
 * error. `keepalived -t`'s lines for the include line must be `vigil check`'s, and keepalived
 * failing (a non-zero exit) must be Vigil reporting an error. skipUnlessLab. Not pure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { skipUnlessLab } from "../support/env.ts";
import { inPool, keepalivedTest, makeKeepalivedNs, runQuiet } from "./keepalived-t.ts";

const LINES = [
  "include missing.conf",
  "includem missing.conf",
  "includer missing.conf",
  "include nodir/*.conf",
  "includem nodir/*.conf",
  "include d/*.nomatch",
  "includew d/*.nomatch",
  "includea d/*.nomatch",
  "include d/{a,missing}.conf",
  "includeb d/{a,missing}.conf",
  "includem d/{x,y}.conf",
  "includeb d/{x,y}.conf",
  "include d/*.conf",
  "includew missing.conf",
  "includeb missing.conf",
  "includea d/{a,missing}.conf",
  "include d/a.conf d/a.conf",
  "include include d/a.conf",
];

const conf = (line: string) =>
  `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        198.18.0.1\n    }\n}\n${line}\n`;

describe.skipIf(skipUnlessLab("include variants vs keepalived -t", { keepalived: true, netns: true }))(
  "include lines whose names are missing, as keepalived's open_and_check_glob reports them",
  () => {
    const ns = `vg${process.pid % 10000}c-iv`;
    // made when the suite runs, so a filtered run (-t) leaves nothing behind
    let dir = "";
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "vigil-iv-"));
      await makeKeepalivedNs(ns);
    });
    afterAll(async () => {
      await runQuiet("ip", ["netns", "del", ns]);
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    });

    it(`reports each of ${LINES.length} include lines as keepalived does`, { timeout: 60_000 }, async () => {
      mkdirSync(join(dir, "d"));
      writeFileSync(join(dir, "d", "a.conf"), "# nothing\n");
      const files = LINES.map((line, i) => {
        const file = join(dir, `i${i}.conf`);
        writeFileSync(file, conf(line));
        return file;
      });
      const runs = await inPool(files, 3, (file, slot) => {
        const pidDir = join(dir, `pid${slot}`);
        mkdirSync(pidDir, { recursive: true });
        return keepalivedTest(ns, file, pidDir);
      });
      const differences: string[] = [];
      for (const [i, file] of files.entries()) {
        const k = runs[i];
        const keepalived = (k?.located ?? []).filter((l) => l.startsWith("8 ")).sort();
        const { diagnostics } = loadConfig(file);
        const vigil = diagnostics
          .filter((d) => d.line === 8)
          .map((d) => `8 ${d.message}`)
          .sort();
        const keepalivedFails = k?.code !== 0;
        const vigilFails = diagnostics.some((d) => d.severity === "error");
        if (JSON.stringify(keepalived) !== JSON.stringify(vigil) || keepalivedFails !== vigilFails)
          differences.push(
            `${LINES[i]}: keepalived rc ${k?.code} ${JSON.stringify(keepalived)}; vigil ${vigilFails ? "error" : "ok"} ${JSON.stringify(vigil)}`,
          );
      }
      expect(differences).toEqual([]);
    });
  },
);
