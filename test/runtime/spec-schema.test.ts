/**
 * The node spec a journal carries is checked before a node is built from it (spec-schema.ts):
 * every spec the configuration front end builds passes; a spec with the wrong shape, a value the
 * wire cannot carry or a reference to nothing is refused with its path; `readJournal` names the line
 * (header or reload input); and `vigil replay` on mutated journals answers 0, 1 or 2 with its own
 * message, never a JavaScript error from inside the node.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { replayCommand } from "../../src/cli/replay.ts";
import { loadConfig } from "../../src/config/load.ts";
import { specFromConfig } from "../../src/runtime/config.adapter.ts";
import { readJournal } from "../../src/runtime/journal.ts";
import { decodeNodeSpec } from "../../src/runtime/spec-schema.ts";
import { runCase } from "../conformance/runner.ts";
import { tempDirForFile } from "../support/temp.ts";

const root = join(import.meta.dirname, "..", "..");
const caseDir = (name: string) => join(import.meta.dirname, "..", "conformance", "cases", name);
const dir = tempDirForFile("vigil-spec-");

const configFiles = [
  "test/config/fixtures/valid",
  "test/config/fixtures/invalid",
  "simulations/configs",
  "examples",
].flatMap((d) =>
  readdirSync(join(root, d))
    .filter((f) => f.endsWith(".conf"))
    .map((f) => join(root, d, f)),
);

const asJson = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe("decodeNodeSpec", () => {
  test("accepts the spec of every configuration the front end runs", () => {
    let checked = 0;
    for (const f of configFiles) {
      const runnable = loadConfig(f).runnable;
      if (runnable === undefined) continue;
      const d = decodeNodeSpec(asJson(specFromConfig(runnable)));
      expect(d.ok ? "ok" : `${f}: ${d.message}`).toBe("ok");
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  // A spec with a sync group, trackers and VIPs with options, from a conformance case.
  const good = JSON.parse(
    runCase(caseDir("27-sync-group-master-together"), false).journal.lines[0] ?? "",
  ) as {
    spec: Record<string, unknown>;
  };
  type Spec = {
    instances: Array<
      { params: Record<string, unknown>; tracking: Array<Record<string, unknown>> } & Record<string, unknown>
    >;
    groups: Array<{ name: string; members: string[] }>;
    trackers: Array<Record<string, unknown>>;
  };
  const i0 = (s: Spec) => s.instances[0] as Spec["instances"][number];
  const g0 = (s: Spec) => s.groups[0] as Spec["groups"][number];
  const edited = (f: (s: Spec) => void): unknown => {
    const s = asJson(good.spec) as unknown as Spec;
    f(s);
    return s;
  };

  test("the conformance spec itself passes", () => {
    expect(decodeNodeSpec(good.spec)).toMatchObject({ ok: true });
    expect(good.spec.groups).not.toEqual([]);
  });

  const cases: Array<[string, (s: Spec) => void, RegExp]> = [
    ["instances not an array", (s) => Object.assign(s, { instances: {} }), /^spec\.instances: /],
    ["trackers missing", (s) => Object.assign(s, { trackers: undefined }), /^spec\.trackers: /],
    ["VRID 0", (s) => Object.assign(i0(s).params, { vrid: 0 }), /^spec\.instances\[0\]\.params\.vrid: /],
    ["VRID a string", (s) => Object.assign(i0(s).params, { vrid: "51" }), /params\.vrid: /],
    ["priority 256", (s) => Object.assign(i0(s).params, { basePriority: 256 }), /basePriority/],
    ["negative delay", (s) => Object.assign(i0(s).params, { garpMasterDelayUs: -1 }), /garpMasterDelayUs/],
    [
      "tracker name a number",
      (s) => Object.assign(s.trackers[0] ?? {}, { name: 7 }),
      /^spec\.trackers\[0\]\.name: /,
    ],
    [
      "VIP not an address",
      (s) => (i0(s).params.vips = ["instance:VI_2"]),
      /VIP "instance:VI_2": not an IPv4 address/,
    ],
    ["VIP prefix 33", (s) => (i0(s).params.vips = ["198.18.0.1/33"]), /bad prefix length/],
    [
      "own address of the other family",
      (s) => Object.assign(i0(s).params, { ownIp: "2001:db8::1" }),
      /ownIp 2001:db8::1 is not an IPv4 address/,
    ],
    [
      "IPv6 on VRRPv2",
      (s) => Object.assign(i0(s).params, { family: 6, version: 2 }),
      /IPv6 needs VRRP version 3/,
    ],
    [
      "v2 interval not whole seconds",
      (s) => Object.assign(i0(s).params, { version: 2, advertIntervalCs: 150 }),
      /cannot be sent in a VRRPv2 advert/,
    ],
    [
      "v3 interval over 4095 cs",
      (s) => Object.assign(i0(s).params, { version: 3, advertIntervalCs: 5000 }),
      /cannot be sent in a VRRPv3 advert/,
    ],
    [
      "tracks a tracker nobody defines",
      (s) => i0(s).tracking.push({ tracker: "ghost", weight: 0, reverse: false }),
      /tracks "ghost", which no tracker is/,
    ],
    [
      "two instances of one name",
      (s) => s.instances.push(i0(s)),
      /instance "VI_1" is defined twice|is defined twice/,
    ],
    [
      "group member that is not an instance",
      (s) => g0(s).members.push("VI_9"),
      /member "VI_9" is not an instance of the group/,
    ],
    [
      "instance naming a group that does not list it",
      (s) => Object.assign(i0(s).params, { syncGroup: "other" }),
      /sync group "other" does not list it/,
    ],
    [
      "unicast peer of the other family",
      (s) => Object.assign(i0(s), { unicastPeers: ["2001:db8::2"] }),
      /unicast peer 2001:db8::2/,
    ],
  ];
  test.each(cases)("refuses: %s", (_name, edit, message) => {
    const d = decodeNodeSpec(edited(edit));
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.message).toMatch(message);
  });
});

describe("journals carrying a bad spec", () => {
  const journal = runCase(caseDir("27-sync-group-master-together"), false).journal;
  const lines = journal.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const text = (ls: readonly unknown[]) => `${ls.map((l) => JSON.stringify(l)).join("\n")}\n`;

  test("readJournal names the header line", () => {
    const header = { ...lines[0], spec: { ...(lines[0]?.spec as object), trackers: [{ name: 1 }] } };
    const r = readJournal(text([header, ...lines.slice(1)]));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.line).toBe(1);
      expect(r.error.message).toMatch(/^spec\.trackers\[0\]\.name: /);
    }
  });

  test("readJournal names a reload input's line", () => {
    const k = lines.findIndex((l) => l.t === "in");
    const ev = lines[k]?.ev as { seq: number; atUs: number };
    const reload = {
      t: "in",
      ev: { seq: ev.seq, atUs: ev.atUs, input: { kind: "reload", configHash: "x", spec: { instances: [] } } },
    };
    const renumbered = lines.slice(k).map((l) => {
      const e = (l.t === "in" ? (l.ev as { seq: number }) : l) as { seq: number };
      return l.t === "in" ? { ...l, ev: { ...(l.ev as object), seq: e.seq + 1 } } : { ...l, seq: e.seq + 1 };
    });
    const r = readJournal(text([...lines.slice(0, k), reload, ...renumbered]));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.line).toBe(k + 1);
      expect(r.error.message).toMatch(/^spec\.groups: /);
    }
  });

  test("vigil replay answers every mutated journal with 0, 1 or 2 and its own message", async () => {
    // A seeded walk over single-field edits of the logical lines (half of them in the header's spec).
    let seed = 0x5eed;
    const rnd = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const weird: unknown[] = [
      null,
      true,
      0,
      -1,
      256,
      1e300,
      1.5,
      "",
      "x",
      [],
      {},
      "instance:VI_2",
      "eth9",
      "2001:db8::1",
    ];
    const paths = (v: unknown, p: Array<string | number> = [], out: Array<Array<string | number>> = []) => {
      if (p.length > 0) out.push(p);
      if (Array.isArray(v)) for (const [i, x] of v.entries()) paths(x, [...p, i], out);
      else if (v !== null && typeof v === "object")
        for (const [k, x] of Object.entries(v)) paths(x, [...p, k], out);
      return out;
    };
    const codes = new Set<number>();
    for (let n = 0; n < 150; n++) {
      const ls = asJson(lines);
      const li = rnd() < 0.5 ? 0 : Math.floor(rnd() * ls.length);
      const ps = paths(ls[li]);
      const p = ps[Math.floor(rnd() * ps.length)] ?? [];
      let o = ls[li] as Record<string | number, unknown>;
      for (const k of p.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
      o[p.at(-1) as string | number] = weird[Math.floor(rnd() * weird.length)];
      const file = join(dir, "mutant.jsonl");
      (await import("node:fs")).writeFileSync(file, text(ls));
      let err = "";
      const code = await replayCommand.run([file, "--verify", "--force"], {
        stdout: () => undefined,
        stderr: (t) => (err += t),
      });
      codes.add(code);
      expect([0, 1, 2], `mutant ${n}: ${err}`).toContain(code);
      expect(err, `mutant ${n}`).not.toMatch(
        /is not a function|Cannot read properties|is not iterable|TypeError|RangeError/,
      );
    }
    expect(codes.has(2)).toBe(true);
  });
});
