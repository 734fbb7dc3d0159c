/**
 * Bad input never crashes the front end: fast-check feeds token soup, fixtures cut at random
 * points, fixtures with braces deleted, numbers replaced by huge ones, and random binary bytes.
 * For each input, `loadConfig` must return (not throw), every diagnostic must carry a line
 * number (>= 1) and a column, and a config is returned exactly when there is no error.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: keepalived macros are literally written ${NAME}
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/config/diagnostics.ts";
import { loadConfig } from "../../src/config/load.ts";
import { memFs } from "./memfs.ts";

const fixtures = ["valid", "invalid"].flatMap((d) =>
  readdirSync(join("test/config/fixtures", d))
    .filter((f) => f.endsWith(".conf"))
    .map((f) => readFileSync(join("test/config/fixtures", d, f), "latin1")),
);

const VOCAB = [
  "global_defs",
  "vrrp_instance",
  "VI_1",
  "vrrp_script",
  "vrrp_sync_group",
  "group",
  "virtual_server",
  "real_server",
  "TCP_CHECK",
  "HTTP_GET",
  "url",
  "path",
  "state",
  "MASTER",
  "BACKUP",
  "interface",
  "eth0",
  "virtual_router_id",
  "priority",
  "advert_int",
  "nopreempt",
  "preempt_delay",
  "authentication",
  "auth_type",
  "PASS",
  "AH",
  "auth_pass",
  "virtual_ipaddress",
  "unicast_peer",
  "unicast_src_ip",
  "track_script",
  "weight",
  "reverse",
  "notify",
  "notify_master",
  "vigil_transport",
  "udp",
  "port",
  "include",
  "includer",
  "x.conf",
  "*.conf",
  "{a,b}",
  "{",
  "}",
  "{",
  "}",
  "!",
  "#",
  '"',
  "'",
  "\\",
  "$X=",
  "${X}",
  "$X",
  "@lb1",
  "@^lb1",
  "~SEQ(N,1,3)",
  "~LST(A,1,2)",
  "~SEQ(",
  "${N}",
  "0",
  "1",
  "255",
  "256",
  "-1",
  "1.5",
  "0.005",
  "99999999999999999999",
  "198.18.0.1",
  "198.18.0.1/24",
  "2001:db8::1/64",
  "fe80::1",
  "198.18.0.300",
  "/33",
  "brd",
  "dev",
  "scope",
  "label",
  "peer",
  "preferred_lft",
  "forever",
  "on",
  "off",
  "vrrp_strict",
  "version",
  "3",
  "\x00",
  "\xff",
];

const soup = fc
  .array(fc.tuple(fc.constantFrom(...VOCAB), fc.constantFrom(" ", " ", "\n", "\t", "")), { maxLength: 200 })
  .map((parts) => parts.map(([w, sep]) => w + sep).join(""));

const mutated = fc
  .tuple(
    fc.constantFrom(...fixtures),
    fc.integer({ min: 0, max: 1_000_000 }),
    fc.constantFrom("cut", "braces", "huge", "binary"),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
  )
  .map(([text, seed, how, bytes]) => {
    const at = seed % (text.length + 1);
    switch (how) {
      case "cut":
        return text.slice(0, at);
      case "braces": {
        let n = 0;
        return text.replace(/[{}]/g, (b) => (n++ % ((seed % 5) + 2) === 0 ? "" : b));
      }
      case "huge":
        return text.replace(/\b\d+\b/g, (d) => (seed % 2 === 0 ? `${d}${"9".repeat(30)}` : `-${d}e400`));
      default:
        return text.slice(0, at) + String.fromCharCode(...bytes) + text.slice(at);
    }
  });

const binary = fc.uint8Array({ maxLength: 2000 }).map((b) => String.fromCharCode(...b));

function checkNeverCrashes(text: string): void {
  const files = { "main.conf": text, "x.conf": "vrrp_instance X {\n}\n", "a.conf": text };
  const result = loadConfig("main.conf", { configId: "lb1", fs: memFs(files) });
  for (const d of result.diagnostics) {
    expect(d.line, formatDiagnostic(d)).toBeGreaterThanOrEqual(1);
    expect(d.column, formatDiagnostic(d)).toBeGreaterThanOrEqual(0);
    expect(d.message.length).toBeGreaterThan(0);
  }
  const hasError = result.diagnostics.some((d) => d.severity === "error");
  expect(result.config === undefined).toBe(hasError);
}

describe("malformed configurations", () => {
  it("token soup", () => fc.assert(fc.property(soup, checkNeverCrashes), { numRuns: 300 }));
  it("cut, brace-deleted, huge-number and binary-spliced fixtures", () =>
    fc.assert(fc.property(mutated, checkNeverCrashes), { numRuns: 400 }));
  it("random binary files", () => fc.assert(fc.property(binary, checkNeverCrashes), { numRuns: 200 }));
});
