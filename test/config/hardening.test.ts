/**
 * The front end on hostile bytes (issue 7 items 1, 4, 5, 6, 8): `@id` lines with CR / U+2028 /
 * U+2029, keepalived's line splitting (LF only, 1023-byte reads, NUL ends a line), files read as
 * bytes (Latin-1 auth_pass on the wire, length in bytes), escaped diagnostics, a UTF-8 BOM, and
 * unreadable inputs named precisely. Plus a property: any byte string or any UTF-16 string
 * (lone surrogates included) through loadConfig never throws and prints no control character.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { bytesToUnicode, unicodeToBytes } from "../../src/config/bytes.ts";
import { type Diagnostic, formatDiagnostic } from "../../src/config/diagnostics.ts";
import { tokenize } from "../../src/config/lexer.ts";
import { loadConfig } from "../../src/config/load.ts";
import { passwordAuthData } from "../../src/protocol/codec.ts";
import { memFs } from "./memfs.ts";

const dir = mkdtempSync(join(tmpdir(), "vigil-hardening-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes raw bytes (a latin1 string is one char per byte) and loads the file from disk. */
const loadBytes = (name: string, bytes: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  return { path, ...loadConfig(path, { configId: "lb1" }) };
};

const instance = (auth = "1234", extra = ""): string =>
  `vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n priority 100\n${extra}` +
  ` authentication {\n  auth_type PASS\n  auth_pass ${auth}\n }\n virtual_ipaddress {\n  198.18.0.10/24\n }\n}\n`;

const messages = (ds: readonly Diagnostic[]): string[] =>
  ds.map((d) => `${d.severity} ${d.line} ${d.message}`);
// C0, DEL, C1, line/paragraph separators, bidi controls: nothing a terminal should receive raw.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for exactly these characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe("@id lines and line ends (item 1)", () => {
  for (const [name, sep] of [
    ["CR", "\r"],
    ["U+2028", "\u2028"],
    ["U+2029", "\u2029"],
    ["NUL", "\0"],
  ] as const) {
    it(`an @id line with ${name} after the @ does not crash`, () => {
      const lines = [`@${sep}`, `@lb1${sep}`, `@^${sep}x`, `@lb1${sep}state BACKUP`, `@${sep} x`];
      lines.push(`@lb1 state${sep}BACKUP`, `@^other a${sep}b`, `@lb1 x ${sep}`);
      for (const line of lines) {
        const text = `${line}\n${instance()}`;
        expect(() => loadConfig("m.conf", { fs: memFs({ "m.conf": text }), configId: "lb1" })).not.toThrow();
      }
    });
  }

  it("an @id word runs to the first space or tab, as keepalived's strpbrk(' \\t')", () => {
    const ids = (text: string) =>
      loadConfig("m.conf", { fs: memFs({ "m.conf": text }), configId: "lb1" }).config?.instances[0]
        ?.wantState;
    expect(ids(`${instance()}`)).toBe("MASTER");
    // "@lb1\rx" is the id "lb1\rx", which does not match: the line is dropped.
    expect(ids(instance("1234").replace(" state MASTER", "@lb1\rx state BACKUP\n state MASTER"))).toBe(
      "MASTER",
    );
    expect(ids(instance("1234").replace(" state MASTER", "@lb1\tstate BACKUP"))).toBe("BACKUP");
    // An id with nothing after it: keepalived drops the line whatever the id.
    expect(ids(instance("1234").replace(" state MASTER", "@^other\n state MASTER"))).toBe("MASTER");
  });

  it("a CR-only (classic Mac) file is one line to keepalived: no crash, CR is whitespace", () => {
    const text = `@lb1 global_defs {\r router_id x\r}\r${instance()}`.replaceAll("\n", "\r");
    const { diagnostics } = loadBytes("cr.conf", text);
    expect(diagnostics.every((d) => d.line <= 1)).toBe(true);
  });

  it("any byte string through the real file reader never throws", () => {
    const seeds = [
      "@",
      "@^",
      "@lb1 ",
      "$A=",
      "$A=$A \\",
      "~SEQ(",
      "~LST(",
      "include ",
      "\xef\xbb\xbf",
      "\0",
      "\r",
    ];
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.uint8Array({ maxLength: 300 }), (seed, bytes) => {
        const text = Buffer.concat([Buffer.from(seed, "latin1"), Buffer.from(bytes)]);
        const { diagnostics } = loadBytes("fuzz.conf", text);
        for (const d of diagnostics) expect(formatDiagnostic(d)).not.toMatch(CONTROL);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("any UTF-16 string (lone surrogates, U+2028, BOM) given in memory never throws", () => {
    const unit = fc.oneof(
      fc.constantFrom("@", "^", "$", "=", "\\", "~SEQ(a,1,3)", "~LST(a,{1,2})", "{", "}", "\n", "\r", " "),
      fc.constantFrom("\u2028", "\u2029", "\ufeff", "\ud800", "\udfff", "\0", "\x85", "\xa0", "\x1b"),
      fc.string({ unit: "binary", maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 60 }), (parts) => {
        const text = parts.join("");
        const { diagnostics } = loadConfig("m.conf", { fs: memFs({ "m.conf": text }), configId: "lb1" });
        for (const d of diagnostics) expect(formatDiagnostic(d)).not.toMatch(CONTROL);
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});

describe("keepalived's reads: 1023 bytes at a time, NUL ends the line (items 1, 6)", () => {
  it("a comment longer than 1023 bytes goes on as a line of its own, as keepalived reads it", () => {
    const { diagnostics } = loadBytes("long.conf", `# ${"a".repeat(1030)} bogus_word\n${instance()}`);
    const m = messages(diagnostics);
    expect(m).toContain("warning 1 Unknown keyword 'aaaaaaaaa'");
    expect(m.some((x) => x.includes("Line longer than 1023 bytes"))).toBe(true);
  });

  it("a NUL byte ends the line, with a warning naming the byte", () => {
    const text = instance("1234", " advert_int 1\0 junk words here\n");
    const { config, diagnostics } = loadBytes("nul.conf", text);
    expect(config?.instances[0]?.advertIntervalCs).toBe(100);
    const nul = diagnostics.filter((d) => d.message.includes("NUL byte (\\x00)"));
    expect(nul.map((d) => [d.line, d.column])).toEqual([[6, 14]]);
    expect(messages(diagnostics).join("\n")).not.toContain("junk");
  });

  it("a NUL inside a comment changes nothing and is not reported", () => {
    const { diagnostics } = loadBytes("nulc.conf", `# a comment \0 with a NUL\n${instance()}`);
    expect(diagnostics.filter((d) => d.message.includes("NUL"))).toEqual([]);
  });
});

describe("bytes, not UTF-8 (item 4)", () => {
  it("a Latin-1 auth_pass goes on the wire byte for byte", () => {
    const { config } = loadBytes("l1.conf", instance("pa\xe9\xff\x01"));
    const pass = config?.instances[0]?.auth;
    expect(pass?.type).toBe("PASS");
    const bytes = passwordAuthData(pass?.type === "PASS" ? pass.pass : "");
    expect([...bytes]).toEqual([0x70, 0x61, 0xe9, 0xff, 0x01, 0, 0, 0]);
  });

  it("an auth_pass of 8 characters but 14 bytes is truncated to its first 8 bytes, with a warning", () => {
    const utf8 = Buffer.from(instance("ééééééab"), "utf8"); // 6 × 2 bytes + 2 = 14 bytes
    const { path } = loadBytes("u8.conf", utf8);
    const { config, diagnostics } = loadConfig(path, { configId: "lb1" });
    expect(messages(diagnostics).some((m) => /Truncating auth_pass/.test(m))).toBe(true);
    const auth = config?.instances[0]?.auth;
    const bytes = passwordAuthData(auth?.type === "PASS" ? auth.pass : "");
    expect(Buffer.from(bytes).equals(Buffer.from("éééé", "utf8"))).toBe(true);
  });

  it("escapes keepalived resolves byte for byte: \\x takes every hex digit, keeps the low byte", () => {
    expect(tokenize('"\\x414" \\xff \\cA', "f", 1, 1).map((t) => t.text)).toEqual(["\x14", "\xff", "\x01"]);
  });

  it("diagnostics show non-printable bytes escaped, printable UTF-8 as text", () => {
    const { diagnostics } = loadBytes("esc.conf", `bad\x1b[31mword \xff\nna\xc3\xafve x\n${instance()}`);
    for (const line of diagnostics.map(formatDiagnostic)) expect(line).not.toMatch(CONTROL);
    const out = diagnostics.map(formatDiagnostic).join("\n");
    expect(out).toContain("Unknown keyword 'bad\\x1b[31mword'");
    expect(out).toContain("Unknown keyword 'naïve'");
  });
});

describe("a UTF-8 byte-order mark (item 5)", () => {
  it("is part of the first keyword, as keepalived reads it, with a hint naming the BOM", () => {
    const text = `\xef\xbb\xbf${instance()}`;
    const { config, diagnostics } = loadBytes("bom.conf", text);
    const m = messages(diagnostics);
    expect(m.some((x) => x.startsWith("warning 1 UTF-8 byte-order mark"))).toBe(true);
    expect(m.some((x) => x.startsWith("warning 1 Unknown keyword '\xef\xbb\xbfvrrp_instance'"))).toBe(true);
    // keepalived skips the whole first block: here the only instance.
    expect(config?.instances ?? []).toEqual([]);
    expect(diagnostics.map(formatDiagnostic).join("\n")).toContain("'\\xef\\xbb\\xbfvrrp_instance'");
  });
});

describe("unreadable inputs named precisely (item 8)", () => {
  const first = (path: string, configId = "lb1") => loadConfig(path, { configId }).diagnostics[0]?.message;

  it("main file: not found, a directory, /dev/null, a FIFO, an executable file", () => {
    const sub = join(dir, "adir");
    mkdirSync(sub, { recursive: true });
    expect(first(join(dir, "nope.conf"))).toBe(`Config file '${join(dir, "nope.conf")}' not found`);
    expect(first(sub)).toBe(`Config file '${sub}' is a directory`);
    expect(first("/dev/null")).toBe(
      "Config file '/dev/null' is not a regular file (it is a character device)",
    );
    const fifo = join(dir, "fifo.conf");
    const made = spawnSync("mkfifo", [fifo]).status === 0; // refused without opening (it would block)
    if (made) expect(first(fifo)).toBe(`Config file '${fifo}' is not a regular file (it is a FIFO)`);
    const exe = join(dir, "exe.conf");
    writeFileSync(exe, instance(), { mode: 0o755 });
    expect(first(exe)).toMatch(/is executable/);
  });

  it("includes of /dev/null and a directory are skipped with a warning, as keepalived does", () => {
    const sub = join(dir, "incdir");
    mkdirSync(sub, { recursive: true });
    const main = join(dir, "inc.conf");
    writeFileSync(main, `include /dev/null\ninclude ${sub}\n${instance()}`);
    const { config, diagnostics } = loadConfig(main, { configId: "lb1" });
    expect(config?.instances.length).toBe(1);
    const io = diagnostics.filter((d) => d.kind === "io").map((d) => `${d.severity} ${d.line} ${d.message}`);
    expect(io).toEqual([
      "warning 1 Config file '/dev/null' is not a regular file (it is a character device)",
      `warning 2 Config file '${sub}' is a directory`,
    ]);
  });
});

describe("byte strings to Unicode for dump --json and the OS", () => {
  it("valid UTF-8 is decoded, other bytes become U+DC80+byte, and the way back is exact", () => {
    expect(bytesToUnicode("VI_\xc3\xa9")).toBe("VI_é");
    expect(bytesToUnicode("VI_\xe9")).toBe("VI_\udce9");
    expect(JSON.stringify(bytesToUnicode("VI_\xe9"))).toBe('"VI_\\udce9"');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const s = Buffer.from(bytes).toString("latin1");
        expect(unicodeToBytes(bytesToUnicode(s))).toBe(s);
      }),
      { numRuns: 500, seed: 5 },
    );
  });
  it("vigil dump prints a UTF-8 name as written and other bytes recoverably (JSON and text)", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-u8-"));
    try {
      const file = join(dir, "k.conf");
      const inst = (name: string, ifname: string, vip: string): string =>
        `vrrp_instance ${name} {\n interface ${ifname}\n virtual_router_id 1\n virtual_ipaddress { ${vip} }\n}\n`;
      writeFileSync(
        file,
        Buffer.from(
          inst("VI_\xc3\xa9", "eth0", "198.18.0.1") + inst("VI_\xe9x", "eth1", "198.18.0.2"),
          "latin1",
        ),
      );
      const run = (...args: string[]) =>
        spawnSync(process.execPath, ["bin/vigil.js", "dump", file, ...args], { encoding: "utf8" });
      const json = JSON.parse(run("--json").stdout) as { instances: { name: string }[] };
      expect(json.instances.map((i) => i.name)).toEqual(["VI_é", "VI_\udce9x"]);
      expect(run().stdout).toContain("vrrp_instance VI_é");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
