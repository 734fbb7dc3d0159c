/**
 * Unit tests of the front end's pieces: the lexer (comments, quotes, escapes, columns), the
 * preprocessor (includes with globs and braces, macros, conditionals, ~SEQ/~LST) through an
 * in-memory file system, and the CLI's exit codes.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: keepalived macros are literally written ${NAME}
import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { checkCommand } from "../../src/cli/check.ts";
import { dumpCommand } from "../../src/cli/dump.ts";
import { Diagnostics, formatDiagnostic } from "../../src/config/diagnostics.ts";
import { expandBraces } from "../../src/config/glob.ts";
import { decomment, tokenize, tokenizeLine } from "../../src/config/lexer.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Preprocessor } from "../../src/config/source.ts";
import { splitCommand } from "../../src/config/values.ts";
import { memFs } from "./memfs.ts";

const words = (text: string): string[] => tokenize(text, "f", 1, 1).map((t) => t.text);

const lines = (files: Record<string, string>, main = "main.conf", configId = "lb1"): string[][] => {
  const diags = new Diagnostics();
  const pre = new Preprocessor(memFs(files), diags, configId, "");
  pre.readFile(main);
  expect(diags.list).toEqual([]);
  return pre.lines.map((l) => l.tokens.map((t) => t.text));
};

const vip = (n: number): string =>
  `vrrp_instance V${n} {\n interface eth0\n virtual_router_id ${n}\n virtual_ipaddress {\n 198.18.0.${n}\n }\n}\n`;

describe("lexer", () => {
  it("strips # and ! comments outside double quotes; an escaped one too, as keepalived's second pass does", () => {
    expect(decomment("router_id a # c")).toBe("router_id a");
    expect(decomment('x "a # b" ! c')).toBe('x "a # b"');
    expect(decomment("x a\\#b")).toBe("x a");
    expect(decomment('x "a\\#b"')).toBe('x "a\\#b"');
    expect(decomment("x 'a # b'")).toBe("x 'a");
  });
  it("splits braces, groups quotes, resolves escapes", () => {
    expect(words("X {a}")).toEqual(["X", "{", "a", "}"]);
    expect(words('ab"c d"e')).toEqual(["abc de"]);
    expect(words("'{' \"}\"")).toEqual(["{", "}"]);
    expect(words("a\\tb \\x41 \\101 \\q \\cA")).toEqual(["a\tb", "A", "A", "q", "\x01"]);
  });
  it("splits a keyword's line as keepalived's alloc_strvec: double quotes only, no escapes", () => {
    const lineWords = (t: string) => tokenizeLine(t, "f", 1, 1).map((x) => x.text);
    expect(lineWords('ab"c d"e')).toEqual(["ab", "c d", "e"]);
    expect(lineWords("'x y' \\x41 \"\"")).toEqual(["'x", "y'", "\\x41", ""]);
    expect(lineWords('X {a} "{"')).toEqual(["X", "{", "a", "}", "{"]);
    const problems: string[] = [];
    expect(
      tokenizeLine('router_id "lb1', "f", 1, 1, (p) => problems.push(p.message)).map((x) => x.text),
    ).toEqual(["router_id"]);
    expect(problems).toEqual(["Unterminated quote 'router_id \"lb1'", "Unmatched quote: 'router_id \"lb1'"]);
  });
  it("keeps 1-based columns", () => {
    expect(tokenize("  foo  bar", "f", 3, 5).map((t) => [t.line, t.column])).toEqual([
      [3, 7],
      [3, 12],
    ]);
  });
  it("splits script command lines like keepalived", () => {
    expect(splitCommand("/x.sh p1 'quoted arg' \"dq\"").argv).toEqual(["/x.sh", "p1", "quoted arg", "dq"]);
  });
  it("splits script commands with keepalived's escapes and whitespace", () => {
    expect(splitCommand("/bin/echo a\\x41 \\101 \\cA\fb\vc").argv).toEqual([
      "/bin/echo",
      "aA",
      "A",
      "\x01",
      "b",
      "c",
    ]);
  });
  it("expands csh braces", () => {
    expect(expandBraces("a{b,c{d,e}}f")).toEqual(["abf", "acdf", "acef"]);
    expect(expandBraces("a{b}c")).toEqual(["a{b}c"]);
  });
});

describe("preprocessor", () => {
  it("includes globs relative to the including file, sorted, skipping non-matches", () => {
    const got = lines(
      {
        "etc/main.conf": "include conf.d/*.conf\ninclude conf.d/{x,y}.inc",
        "etc/conf.d/b.conf": "B",
        "etc/conf.d/a.conf": "A",
        "etc/conf.d/c.txt": "C",
        "etc/conf.d/x.inc": "X",
        "etc/conf.d/y.inc": "Y",
      },
      "etc/main.conf",
    );
    expect(got).toEqual([["A"], ["B"], ["X"], ["Y"]]);
  });
  it("keeps @id lines for the config id and @^id lines for others", () => {
    expect(lines({ "main.conf": "@lb1 a\n@lb2 b\n@^lb1 c\n@^lb2 d" })).toEqual([["a"], ["d"]]);
    expect(lines({ "main.conf": "@lb1 a\n@lb2 b" }, "main.conf", "lb2")).toEqual([["b"]]);
  });
  it("expands macros at use, recursively", () => {
    expect(lines({ "main.conf": "$A=${B}x\n$B=1\nv ${A} $B\n$B=2\nv $A" })).toEqual([
      ["v", "1x", "1"],
      ["v", "2x"],
    ]);
  });
  it("leaves an undefined macro as it is, with a warning, and its braces split the line as keepalived's do", () => {
    const r = loadConfig("main.conf", {
      fs: memFs({ "main.conf": `${vip(1)}global_defs {\n router_id \${C}\n}` }),
    });
    // keepalived 2.2.7 -t: "router_id $", then the '{' is unexpected, 'C' unknown, and its '}'
    // closes global_defs, so the file's last '}' is an unknown keyword at the top level
    expect(r.diagnostics.map((d) => [d.line, d.message])).toEqual([
      [9, "Macro 'C' is not defined - left as is"],
      [
        9,
        "'router_id' is parsed but not acted on by Vigil yet (keepalived uses it in SMTP alerts and SNMP, which Vigil does not have)",
      ],
      [9, "Unexpected '{' - ignoring"],
      [9, "Unknown keyword 'C'"],
      [10, "Unknown keyword '}'"],
    ]);
    expect(r.config?.global.routerId).toBe("$");
  });
  it("expands multi-line macros into several lines", () => {
    expect(lines({ "main.conf": "$M=a 1 \\\nb 2\n$M" })).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });
  it("repeats lines with ~SEQ, ~SEQx and ~LST, nested", () => {
    expect(lines({ "main.conf": "~SEQ(N,3) n${N}" })).toEqual([["n1"], ["n2"], ["n3"]]);
    expect(lines({ "main.conf": "~SEQ(N,3,1) n${N}" })).toEqual([["n3"], ["n2"], ["n1"]]);
    expect(lines({ "main.conf": "~SEQx(N,9,2,13) n${N}" })).toEqual([["n9"], ["nb"], ["nd"]]);
    expect(lines({ "main.conf": "~LST(A,x,y) ~SEQ(B,1,2) ${A}${B}" })).toEqual([
      ["x1"],
      ["x2"],
      ["y1"],
      ["y2"],
    ]);
  });
  it("gives ${_HASH} and ${_BANG} as the bare characters: a comment outside double quotes, literal inside", () => {
    expect(lines({ "main.conf": "v a${_HASH}b${_BANG}c" })).toEqual([["v", "a"]]);
    expect(lines({ "main.conf": 'v "a${_HASH}b${_BANG}c"' })).toEqual([["v", "a#b!c"]]);
  });
});

describe("loadConfig", () => {
  it("reports a missing main file as an error with the file name", () => {
    const r = loadConfig("nope.conf", { fs: memFs({}) });
    expect(r.config).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      "(nope.conf) Config file 'nope.conf' not found or not readable [error]",
    ]);
  });
  it("reports positions inside included files", () => {
    const r = loadConfig("main.conf", {
      fs: memFs({ "main.conf": `include inc/x.conf\n${vip(1)}`, "inc/x.conf": "\n\n  bogus_keyword 1\n" }),
    });
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        file: "inc/x.conf",
        line: 3,
        column: 3,
        message: "Unknown keyword 'bogus_keyword'",
      }),
    ]);
    expect(r.config?.instances.map((i) => i.name)).toEqual(["V1"]);
  });
  it("brands the decoded values", () => {
    const r = loadConfig("main.conf", { fs: memFs({ "main.conf": vip(7) }) });
    const i = r.config?.instances[0];
    expect(i?.vrid).toBe(7);
    expect(i?.advertIntervalCs).toBe(100);
    expect(i?.transport).toEqual({ kind: "raw" });
  });
  it("takes the lower-priority GARP burst from the globals unless set, as keepalived (not the instance's master burst)", () => {
    const conf = (extra: string) =>
      loadConfig("main.conf", {
        fs: memFs({
          "main.conf": vip(1).replace(
            "interface eth0",
            `interface eth0\n garp_master_delay 2\n garp_master_repeat 3\n${extra}`,
          ),
        }),
      }).config?.instances[0]?.garp;
    expect(conf("")).toMatchObject({
      masterDelayUs: 2_000_000,
      masterRepeat: 3,
      lowerPrioDelayUs: 5_000_000,
      lowerPrioRepeat: 5,
    });
    expect(conf(" garp_lower_prio_repeat 1")).toMatchObject({
      lowerPrioDelayUs: 5_000_000,
      lowerPrioRepeat: 1,
    });
    const strict = (extra: string) =>
      loadConfig("main.conf", {
        fs: memFs({
          "main.conf": vip(1)
            .replace("vrrp_instance", "global_defs {\n vrrp_strict\n}\nvrrp_instance")
            .replace("interface eth0", `interface eth0\n${extra}`),
        }),
      });
    expect(strict("").config?.instances[0]?.garp).toMatchObject({ lowerPrioDelayUs: 0, lowerPrioRepeat: 0 });
    expect(strict(" garp_lower_prio_repeat 2").diagnostics.map((d) => d.message)).toContain(
      "(V1) Strict mode requires no repeat garps. resetting",
    );
  });
  it("hints the nearest keyword for a typo", () => {
    const r = loadConfig("main.conf", {
      fs: memFs({ "main.conf": vip(1).replace("interface", "interfce") }),
    });
    const unknown = r.diagnostics.find((d) => d.message === "Unknown keyword 'interfce'");
    expect(unknown?.hint).toBe("did you mean 'interface'?");
  });
  it("holds instances and globals compactly (V8's fast properties, not the dictionary the decoder leaves)", () => {
    setFlagsFromString("--allow-natives-syntax");
    const fast = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;
    const r = loadConfig("main.conf", { fs: memFs({ "main.conf": `${vip(1)}\n${vip(2)}` }) });
    const c = r.config;
    if (c === undefined) throw new Error("no config");
    expect(c.instances).toHaveLength(2);
    expect([c, c.global, ...c.instances].map(fast)).toEqual([true, true, true, true]);
  });
});

describe("vigil dump", () => {
  const io = () => ({
    out: [] as string[],
    err: [] as string[],
    stdout(t: string) {
      this.out.push(t);
    },
    stderr(t: string) {
      this.err.push(t);
    },
  });
  it("prints a readable text form of the bundled example", async () => {
    const s = io();
    expect(await dumpCommand.run(["-f", "examples/keepalived.conf", "--config-id", "lb1"], s)).toBe(0);
    const text = s.out.join("");
    expect(text).toContain("vrrp_instance VI_1\n  interface eth0  vrid 51  IPv4  VRRPv2  transport raw");
    expect(text).toContain("vrrp_instance VI_6\n  interface eth0  vrid 52  IPv6  VRRPv3  transport raw");
    expect(text).toContain("  priority 100  want BACKUP  advert 50 cs  down timer 3 adverts");
    expect(text).toContain("vrrp_sync_group LB: VI_1, VI_6");
    // the example's router_id is the only keyword Vigil does not act on
    expect(s.err.map((l) => l.replace(/\(.*?\) /, ""))).toEqual([
      "'router_id' is parsed but not acted on by Vigil yet (keepalived uses it in SMTP alerts and SNMP, which Vigil does not have) [warning, column 5]\n",
    ]);
  });
  it("prints nothing on stdout and exits 1 when the configuration has errors", async () => {
    const s = io();
    expect(await dumpCommand.run(["-f", "test/config/fixtures/invalid/02-vrid-300.conf", "--json"], s)).toBe(
      1,
    );
    expect(s.out).toEqual([]);
    expect(s.err.join("")).toContain("(VI_1): VRID '300' not valid - must be between 1 & 255");
  });
});

describe("vigil check", () => {
  const io = () => ({
    out: [] as string[],
    err: [] as string[],
    stdout(t: string) {
      this.out.push(t);
    },
    stderr(t: string) {
      this.err.push(t);
    },
  });
  it("exits 1 for a missing file", async () => {
    const s = io();
    expect(await checkCommand.run(["-f", "/nonexistent/vigil.conf"], s)).toBe(1);
    expect(s.err.join("")).toContain("Config file '/nonexistent/vigil.conf' not found");
  });
  it("exits 0 for the bundled example and 64 for a bad option", async () => {
    expect(await checkCommand.run(["-f", "examples/keepalived.conf"], io())).toBe(0);
    expect(await checkCommand.run(["--bogus"], io())).toBe(64);
  });
});

describe("a block keepalived does not expect", () => {
  // keepalived 2.2.7 -d on fixture 96: VI_1 BACKUP, priority 120, advert 2 s, no VIP, GARP delay 7
  it("is read as lines of the current block, and its '}' ends that block (fixture 96, as keepalived -d shows)", () => {
    const r = loadConfig("test/config/fixtures/invalid/96-block-of-unknown-keyword.conf");
    const i = r.runnable?.instances[0];
    expect(i?.vips).toEqual([]);
    expect(i?.wantState).toBe("BACKUP");
    expect(i?.basePriority).toBe(120);
    expect(i?.advertIntervalCs).toBe(200);
    expect(r.runnable?.global.garp.masterDelayUs).toBe(7_000_000);
  });

  it("a brace inside a value block ends it (fixture 98), a block keyword without '{' takes the lines up to the next '}' (fixture 99), as keepalived -d shows", () => {
    const vips = (f: string) =>
      loadConfig(`test/config/fixtures/invalid/${f}.conf`).runnable?.instances.map((i) => [
        i.name,
        i.vrid,
        i.basePriority,
        i.vips.map((v) => v.address),
      ]);
    expect(vips("98-brace-inside-value-block")).toEqual([["VI_1", 1, 100, ["198.18.0.1", "198.18.0.3"]]]);
    expect(vips("99-block-keyword-without-brace")).toEqual([["VI_1", 2, 100, ["198.18.0.2"]]]);
  });

  it("a script line with an open quote: keepalived's three lines and no script (its second reading fails)", () => {
    const fs = memFs({
      "/k.conf": `${vip(1)}vrrp_instance V2 {\n interface eth0\n virtual_router_id 2\n notify_master "/x.sh a\n}\n`,
    });
    const r = loadConfig("/k.conf", { fs });
    expect(r.diagnostics.map((d) => `${d.line} ${d.message}`)).toEqual([
      "8 (V2) No VIP specified; at least one is sensible",
      `11 String 'notify_master "/x.sh a': missing terminating "`,
      `11 Unterminated quote 'notify_master "/x.sh a'`,
      `11 Unmatched quote: 'notify_master "/x.sh a'`,
    ]);
    expect(r.runnable?.instances[1]?.notify.master).toBeNull();
  });

  it("nested unknown blocks each move what follows one level up", () => {
    const fs = memFs({
      "/k.conf": "global_defs {\n a {\n  b {\n   vrrp_version 3\n  }\n  c\n }\n d\n}\n",
    });
    const r = loadConfig("/k.conf", { fs });
    expect(r.diagnostics.map((d) => `${d.line} ${d.message}`)).toEqual([
      "2 Unknown keyword 'a'",
      "2 Unexpected '{' - ignoring",
      "3 Unknown keyword 'b'",
      "3 Unexpected '{' - ignoring",
      "6 Unknown keyword 'c'",
      "7 Unknown keyword '}'",
      "8 Unknown keyword 'd'",
      "9 Unknown keyword '}'",
    ]);
    expect(r.runnable?.global.version).toBe(3);
  });
});
