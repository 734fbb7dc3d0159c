/**
 * How a configuration line splits into words, against the real keepalived 2.2.7: every keyword
 * handler gets `alloc_strvec`'s words (only double quotes group, a quote starts a word of its own,
 * backslashes and single quotes are ordinary, an unclosed quote drops the rest of the line), while
 * script keywords read the line again with quotes and escapes. Each word is written as a
 * `virtual_router_id`, whose "invalid number '…'" message shows the word keepalived got; the
 * messages `keepalived -t` prints for that line must be the ones `vigil check` gives. keepalived runs
 * in a private namespace (keepalived-t.ts). skipUnlessLab. Not pure.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: keepalived macros are literally written ${NAME}
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { skipUnlessLab } from "../support/env.ts";
import { inPool, keepalivedTest, makeKeepalivedNs, runQuiet } from "./keepalived-t.ts";

const WORDS = [
  "'5'",
  "'x y'",
  'ab"c d"e',
  '"c d"',
  '"7"',
  "\\x41B",
  "\\101",
  "a\\#b",
  "a\\!b",
  "a${_HASH}b",
  '"a${_BANG}b"',
  'x\\"y z"',
  '"a\\"b \\#c"',
  '"a\\#b"',
  "a'b",
  '"a"b',
  '""',
  'x"y',
  '"x y',
  "\\\\",
  "a\\ b",
  "5 # comment",
  '"5 # not a comment"',
];

const conf = (word: string) =>
  `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id ${word}\n    virtual_ipaddress {\n        198.18.0.1\n    }\n}\n`;

describe.skipIf(
  skipUnlessLab("configuration line words vs keepalived -t", { keepalived: true, netns: true }),
)("the words of a configuration line, as keepalived's alloc_strvec splits them", () => {
  const ns = `vg${process.pid % 10000}c-lw`;
  // made when the suite runs, so a filtered run (-t) leaves nothing behind
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vigil-lw-"));
    await makeKeepalivedNs(ns);
  });
  afterAll(async () => {
    await runQuiet("ip", ["netns", "del", ns]);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it(`gives each of ${WORDS.length} written values the messages keepalived gives it`, {
    timeout: 60_000,
  }, async () => {
    const files = WORDS.map((w, i) => {
      const file = join(dir, `w${i}.conf`);
      writeFileSync(file, conf(w), "latin1");
      return file;
    });
    const runs = await inPool(files, 3, (file, slot) => {
      const pidDir = join(dir, `pid${slot}`);
      return keepalivedTest(ns, file, pidDir);
    });
    const differences: string[] = [];
    for (const [i, file] of files.entries()) {
      const keepalived = [...new Set((runs[i]?.located ?? []).filter((l) => l.startsWith("3 ")))].sort();
      const vigil = [
        ...new Set(
          loadConfig(file)
            .diagnostics.filter((d) => d.line === 3)
            .map((d) => `3 ${d.message}`),
        ),
      ].sort();
      if (JSON.stringify(keepalived) !== JSON.stringify(vigil))
        differences.push(
          `${WORDS[i]}:\n  keepalived ${JSON.stringify(keepalived)}\n  vigil      ${JSON.stringify(vigil)}`,
        );
    }
    expect(differences).toEqual([]);
  });
});
