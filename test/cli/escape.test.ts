/**
 * Terminal injection: bytes from the network (a PASS password in `vigil sniff`), from journals
 * (names and log lines in `vigil replay`) and from configuration files (`vigil check`, `vigil
 * dump`) never reach the terminal raw. Text is escaped as tcpdump prints packet bytes; JSON stays
 * valid JSON with the same value and no raw control, C1 or format characters.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeCheckCommand } from "../../src/cli/check.ts";
import { dumpCommand } from "../../src/cli/dump.ts";
import { escapeBytes, escapeText, jsonLine, terminalSafeJson } from "../../src/cli/escape.ts";
import { replayCommand } from "../../src/cli/replay.ts";
import { sniffLine, sniffRecord } from "../../src/cli/sniff.ts";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { encodeIpv4Packet } from "../../src/protocol/ipv4.ts";
import { parseIpv4 } from "../../transports/ip-header.ts";
import { runCase } from "../conformance/runner.ts";
import { tempDirForTest } from "../support/temp.ts";

/** Anything a terminal may act on: C0 (tab and newline included), DEL, C1, bidi/format, separators, lone surrogates. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
/** The same, outside the newline that ends each printed line. */
const unsafeInLines = (text: string): string[] => text.split("\n").filter((l) => UNSAFE.test(l));

const capture = () => {
  const s = { out: "", err: "" };
  return { s, io: { stdout: (t: string) => (s.out += t), stderr: (t: string) => (s.err += t) } };
};

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

describe("escapeBytes (tcpdump's form)", () => {
  it("prints bytes as tcpdump does: ^X for controls, M- for the high bit", () => {
    expect(escapeBytes(Uint8Array.from([0x1b, 0x5b, 0x32, 0x4a]))).toBe("^[[2J");
    expect(escapeBytes(Uint8Array.from([0x00, 0x07, 0x09, 0x0a, 0x0d, 0x7f]))).toBe("^@^G^I^J^M^?");
    expect(escapeBytes(Uint8Array.from([0x9b, 0xe9, 0xff, 0x80, 0xa0]))).toBe("M-^[M-iM-^?M-^@M- ");
    expect(escapeBytes(new TextEncoder().encode("pass word!"))).toBe("pass word!");
  });
  it("leaves only printable ASCII for every byte value, and is idempotent", () => {
    const out = escapeBytes(ALL_BYTES);
    expect(out).toMatch(/^[\x20-\x7e]*$/);
    expect(escapeText(out)).toBe(out);
  });
});

describe("escapeText", () => {
  const hostile = [
    "\x1b]0;owned\x07",
    "\x1b[2J\x1b[H",
    "\u009b31m", // C1 CSI
    "\x7f",
    "a\nfake line",
    "\r",
    "\u202eevil", // right-to-left override
    "\u2028\u2029",
    "\ud800", // lone surrogate
    "\udc00x",
    "\u200b\ufeff",
    "\u{e0001}", // language tag (format, astral)
    String.fromCharCode(...ALL_BYTES),
  ];
  it.each(hostile.map((h) => [JSON.stringify(h), h]))("%s comes out printable", (_, h) => {
    const out = escapeText(h as string);
    expect(out).not.toMatch(UNSAFE);
    expect(escapeText(out)).toBe(out);
  });
  it("keeps printable Unicode (the timeline's arrows, names in other scripts)", () => {
    expect(escapeText("instance:VI_1: BACKUP → MASTER ×3 é 日本")).toBe(
      "instance:VI_1: BACKUP → MASTER ×3 é 日本",
    );
    expect(escapeText("\u202e")).toBe("\\u{202E}");
    expect(escapeText("\u009b")).toBe("M-^[");
  });
});

describe("JSON output", () => {
  const values = [
    "\x1b[31m",
    "\x7f\u0080\u009b\u009f",
    "\u202e\u2028\u2029\u200b",
    "\ud800",
    "\u{e0001}",
    "é日本",
  ];
  it.each(values.map((v) => [JSON.stringify(v), v]))("%s stays valid JSON with the same value", (_, v) => {
    const line = jsonLine({ v });
    expect(line).not.toMatch(UNSAFE);
    expect(JSON.parse(line)).toEqual({ v });
  });
  it("keeps JSON whitespace (pretty-printed dumps)", () => {
    const text = JSON.stringify({ a: "\u0085x", b: [1] }, null, 2);
    const safe = terminalSafeJson(text);
    expect(JSON.parse(safe)).toEqual({ a: "\u0085x", b: [1] });
    expect(safe.split("\n").length).toBe(text.split("\n").length);
  });
});

describe("vigil sniff text with a hostile PASS password from the LAN", () => {
  const packet = (password: Uint8Array) => {
    const authData = new Uint8Array(8);
    authData.set(password.subarray(0, 8));
    const bytes = encodeIpv4Packet(
      { ttl: 255, id: 1, src: "198.18.7.1", dst: "224.0.0.18" },
      encodeAdvert(
        {
          version: 2,
          vrid: 51,
          priority: 100,
          advertIntervalCs: 100,
          addresses: ["198.18.7.100"],
          authType: 1,
          authData,
        },
        4,
      ),
    );
    return { ip: parseIpv4(bytes), ifindex: 2, ifname: "eth0", outgoing: false, length: bytes.length };
  };
  it("escapes the password bytes as tcpdump does", () => {
    const r = sniffRecord(
      packet(Uint8Array.from([0x1b, 0x5d, 0x30, 0x3b, 0x78, 0x07, 0x9b, 0xe9])),
      "2026-01-01T00:00:00.000Z",
    );
    const line = sniffLine(r);
    expect(line).toContain('auth PASS "^[]0;x^GM-^[M-i"');
    expect(line).not.toMatch(UNSAFE);
  });
  it("never prints a raw unsafe character whatever the 8 password bytes are", () => {
    for (let start = 0; start < 256; start += 8) {
      const line = sniffLine(
        sniffRecord(packet(ALL_BYTES.subarray(start, start + 8)), "2026-01-01T00:00:00.000Z"),
      );
      expect(line).not.toMatch(UNSAFE);
    }
  });
  it("keeps the exact password bytes in JSON (latin1), as valid terminal-safe JSON", () => {
    const bytes = Uint8Array.from([0x1b, 0x9b, 0x7f, 0xe9, 0x41, 0x0a, 0x22, 0x5c]);
    const line = jsonLine(sniffRecord(packet(bytes), "t"));
    expect(line).not.toMatch(UNSAFE);
    const back = JSON.parse(line) as { authPassword: string };
    expect(Uint8Array.from(Buffer.from(back.authPassword, "latin1"))).toEqual(bytes);
  });
  it("escapes a hostile interface name (Linux allows control bytes in names)", () => {
    const p = { ...packet(new Uint8Array(1)), ifname: "eth\x1b[2J" };
    expect(sniffLine(sniffRecord(p, "2026-01-01T00:00:00.000Z"))).not.toMatch(UNSAFE);
  });
});

describe("vigil replay with hostile names and log lines in the journal", () => {
  it("escapes the text timeline and keeps --json valid", async () => {
    const journal = runCase(
      join(import.meta.dirname, "..", "conformance", "cases", "02-takeover-priority-100"),
      false,
    ).journal.text();
    // VI_1 becomes a name carrying an OSC title sequence, a C1 CSI and a bidi override, everywhere in the journal.
    const evil = "VI_\\u001b]0;pwned\\u0007\\u009b2J\\u202e";
    const dir = tempDirForTest("vigil-escape-");
    const file = join(dir, "evil.jsonl");
    writeFileSync(file, journal.replaceAll("VI_1", evil));
    const text = capture();
    expect(await replayCommand.run([file], text.io)).toBe(0);
    expect(text.s.out).toContain("VI_^[]0;pwned^GM-^[2J\\u{202E}");
    expect(unsafeInLines(text.s.out)).toEqual([]);
    const json = capture();
    expect(await replayCommand.run([file, "--json"], json.io)).toBe(0);
    expect(unsafeInLines(json.s.out)).toEqual([]);
    const events = json.s.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as unknown);
    expect(JSON.stringify(events)).toContain("VI_\\u001b]0;pwned\\u0007\u009b2J\u202e");
  });
});

describe("vigil check and vigil dump with hostile bytes in the configuration", () => {
  const conf = (name: string) =>
    `vrrp_instance ${name} {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n 198.18.0.10/24\n }\n}\nbogus_keyword_\x1b[2J\u009b\n`;
  const write = (text: string) => {
    const dir = tempDirForTest("vigil-escape-");
    const file = join(dir, "k.conf");
    writeFileSync(file, text, "latin1");
    return file;
  };
  const host = makeCheckCommand(() => ({ interfaces: new Set(["lo", "eth0"]) }));
  it("check: diagnostics and summary are escaped", async () => {
    const file = write(conf("VI_\x1b]0;x\x07"));
    const c = capture();
    await host.run([file], c.io);
    // The front end escapes diagnostics itself (\x1b); the command line's escaping composes with it.
    expect(c.s.err).toMatch(/bogus_keyword_(\^\[|\\x1b)\[2J/);
    expect(unsafeInLines(c.s.err)).toEqual([]);
    expect(unsafeInLines(c.s.out)).toEqual([]);
  });
  it("dump: text is escaped, JSON is valid and terminal-safe", async () => {
    const file = write(conf("VI_\x1b]0;x\x07\x7f\x9b"));
    const t = capture();
    expect(await dumpCommand.run([file], t.io)).toBe(0);
    expect(t.s.out).toContain("VI_^[]0;x^G");
    expect(unsafeInLines(t.s.out)).toEqual([]);
    expect(unsafeInLines(t.s.err)).toEqual([]);
    const j = capture();
    expect(await dumpCommand.run([file, "--json"], j.io)).toBe(0);
    expect(unsafeInLines(j.s.out)).toEqual([]);
    const parsed = JSON.parse(j.s.out) as { instances: { name: string }[] };
    expect(parsed.instances[0]?.name.startsWith("VI_\x1b]0;x\x07")).toBe(true);
  });
});
