/**
 * Journal segments on disk: compact steady repeats (≤ 16 bytes per steady advert), size-bounded
 * rotation with retention, each segment readable on its own from its checkpoint, numbering that
 * continues across runs, and the durability policy (batches bounded in lines and in clock time,
 * flushed at once on a state change). Synthetic logical lines, as the node writes them.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Input } from "../../src/runtime/input.ts";
import { inLine } from "../../src/runtime/input-text.ts";
import { endsAtWriteBoundary, FileJournal, readJournal, segmentPath } from "../../src/runtime/journal.ts";
import { listSegments } from "../../src/runtime/segment-file.ts";
import {
  CHAIN_SEED,
  hashText,
  SegmentEncoder,
  SegmentExpander,
  seal,
  sealedBytesMax,
} from "../../src/runtime/segment-format.ts";
import { tempDirForTest } from "../support/temp.ts";

const header = JSON.stringify({
  t: "header",
  vigil: "test",
  configHash: "c0ffee",
  spec: { instances: [], groups: [], trackers: [] },
});
const advert = (k: number): Input => ({
  kind: "rx",
  family: 4,
  src: `198.18.0.${k + 2}`,
  dst: "224.0.0.18",
  ttl: 255,
  ifname: "eth0",
  hex: `2101640101${k.toString(16).padStart(2, "0")}0000c6120064`,
});
const timer: Input = { kind: "timer", actor: "instance:VI_1", id: "advert" };
const sendOut = (seq: number) =>
  JSON.stringify({ t: "out", seq, out: [{ type: "sendAdvert", instance: "VI_1", priority: 100 }] });
const stateOut = (seq: number) =>
  JSON.stringify({
    t: "out",
    seq,
    out: [{ type: "state", actor: "instance:VI_1", from: "BACKUP", to: "MASTER" }],
  });
const fresh = () => tempDirForTest("vigil-seg-");

describe("the seal, as the format states it", () => {
  // Straight from segment-format.ts's header: h_i = fnv1a(h_{i-1}, PAYLOAD SEP), HASH = 6 base64url
  // characters of h_i, most significant first; SEP ";" on a batch's last line, " " elsewhere.
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const reference = (chain: number, payloads: readonly string[]): { lines: string; chain: number } => {
    let h = chain;
    let lines = "";
    payloads.forEach((p, k) => {
      const text = p + (k === payloads.length - 1 ? ";" : " ");
      for (const unit of text.split("").map((c) => c.charCodeAt(0))) h = Math.imul(h ^ unit, 16777619) >>> 0;
      let hash = "";
      for (let shift = 30; shift >= 0; shift -= 6) hash += B64[(h >>> shift) & 63];
      lines += `${text}${hash}\n`;
    });
    return { lines, chain: h };
  };

  /** `seal` into a fresh buffer exactly as large as `sealedBytesMax` allows (a write past it throws). */
  const sealed = (chain: number, payloads: readonly string[]): { bytes: Buffer; chain: number } => {
    const out = Buffer.alloc(sealedBytesMax(payloads));
    const end = { at: -1 };
    const h = seal(chain, payloads, true, new Uint8Array(out.buffer, out.byteOffset, out.length), 0, end);
    return { bytes: out.subarray(0, end.at), chain: h };
  };

  test("physical lines (as UTF-8) and chain equal the reference for any payloads and seed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        // any UTF-16 code units (lone surrogates too), and whole astral characters
        fc.array(
          fc.oneof(
            fc.string({ unit: "binary" }),
            fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
          ),
        ),
        (seed, payloads) => {
          const got = sealed(seed, payloads);
          const want = reference(seed, payloads);
          expect(got.bytes.equals(Buffer.from(want.lines, "utf8"))).toBe(true);
          expect(got.chain).toBe(want.chain);
          if (payloads.length > 0) expect(hashText(got.chain)).toBe(want.lines.slice(-7, -1));
        },
      ),
      { numRuns: 300 },
    );
    // the encodings node:buffer would give: 1, 2, 3 and 4 bytes, a lone surrogate as U+FFFD
    expect(
      sealed(CHAIN_SEED, ["a\u00e9\u20ac\u{1f600}\ud800x\udc00"]).bytes.toString("utf8").split(";")[0],
    ).toBe("a\u00e9\u20ac\u{1f600}\ufffdx\ufffd");
    expect(hashText(0)).toBe("AAAAAA");
    expect(hashText(0xffffffff)).toBe("D_____");
    expect(reference(CHAIN_SEED, ["x"]).lines.slice(-7, -1)).toBe(hashText(sealed(CHAIN_SEED, ["x"]).chain));
  });
});

describe("compact steady repeats", () => {
  test("a steady backup's adverts and a steady master's adverts cost ≤ 16 bytes each", () => {
    const d = fresh();
    for (const kind of ["backup", "master", "1000 peers"] as const) {
      const path = join(d, `${kind.replace(" ", "-")}.jsonl`);
      const j = new FileJournal(path, { sync: false });
      j.append(header);
      const n = 20_000;
      const peers = kind === "1000 peers" ? 1000 : 1;
      let seq = 0;
      let atUs = 0;
      const write = () => {
        seq++;
        atUs += kind === "1000 peers" ? 1000 + (seq % 7) : 1_000_000 + (seq % 13);
        j.append(inLine({ seq, atUs, input: kind === "master" ? timer : advert(seq % peers) }));
        if (kind === "master") j.append(sendOut(seq));
      };
      for (let i = 0; i < 2 * peers; i++) write(); // first occurrences
      j.flush();
      const before = statSync(path).size;
      for (let i = 0; i < n; i++) write();
      j.flush();
      const perEvent = (statSync(path).size - before) / n;
      expect(perEvent, kind).toBeLessThanOrEqual(16);
      j.close();
      const r = readJournal(readFileSync(path, "utf8"));
      if (!r.ok) throw new Error(r.error.message);
      expect(r.lines.filter((l) => l.t === "in")).toHaveLength(n + 2 * peers);
      const last = r.lines.at(-1);
      if (kind === "master") expect(last).toEqual(JSON.parse(sendOut(seq)));
      else expect(last).toEqual({ t: "in", ev: { seq, atUs, input: advert(seq % peers) } });
    }
  });

  test("expansion gives back exactly the logical lines, outputs changing or not", () => {
    const d = fresh();
    const path = join(d, "mix.jsonl");
    const j = new FileJournal(path, { flushLines: 3, sync: false });
    const logical: string[] = [header];
    const add = (l: string) => {
      logical.push(l);
      j.append(l);
    };
    add(header.replace("test", "test")); // (a header only once: replaced below)
    logical.splice(1, 1);
    for (let seq = 1; seq <= 300; seq++) {
      const atUs = seq * 1000;
      add(inLine({ seq, atUs, input: seq % 5 === 0 ? timer : advert(seq % 3) }));
      if (seq % 5 === 0) add(seq % 15 === 0 ? stateOut(seq) : sendOut(seq));
      else if (seq % 7 === 0) add(sendOut(seq));
    }
    j.close();
    const r = readJournal(readFileSync(path, "utf8"));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.lines.slice(1).map((l) => JSON.stringify(l))).toEqual(logical.slice(1));
  });
});

describe("what the encoder keeps", () => {
  test("a state change's outputs are not kept to compact their repeat; other outputs are", () => {
    const enc = new SegmentEncoder();
    enc.reset(0, 0);
    const input = JSON.stringify(timer);
    const payloadsOf = (seq: number, outLine: string): string[] => {
      const out: string[] = [];
      enc.encodeIn(seq, seq * 1000, input, out);
      const o = JSON.parse(outLine) as { out: unknown };
      enc.encodeOut(seq, JSON.stringify(o.out), outLine, out);
      return out;
    };
    const logical: string[] = [];
    const physical: string[][] = [];
    for (let seq = 1; seq <= 6; seq++) {
      const outLine = seq <= 3 ? stateOut(seq) : sendOut(seq);
      logical.push(inLine({ seq, atUs: seq * 1000, input: timer }), outLine);
      physical.push(payloadsOf(seq, outLine));
    }
    // seq 1 defines the entry; 2 and 3 repeat the state change: a reference and the full out line
    expect(physical.map((p) => p.map((l) => l[0]))).toEqual([
      ["{", "{"],
      ["r", "{"],
      ["r", "{"],
      ["r", "{"], // outputs changed to the advert's
      ["R"], // the advert's repeated: one reference
      ["R"],
    ]);
    const exp = new SegmentExpander();
    exp.reset(0, 0);
    const lines = physical.flat().flatMap((p) => {
      const r = exp.expand(p);
      if ("error" in r) throw new Error(r.error);
      return r.lines;
    });
    expect(lines).toEqual(logical);
  });
});

describe("rotation", () => {
  test("segments rotate at maxSegmentBytes, the oldest go, each reads on its own from its checkpoint", () => {
    const d = fresh();
    const path = join(d, "vigil.jsonl");
    const j = new FileJournal(path, { maxSegmentBytes: 4000, maxSegments: 3, sync: false });
    j.append(header);
    let rotations = 0;
    for (let seq = 1; seq <= 2000; seq++) {
      const atUs = seq * 1000;
      if (j.shouldRotate()) {
        rotations++;
        j.startSegment({
          format: "vigil-checkpoint",
          version: 1,
          seq: seq - 1,
          atUs: atUs - 1000,
          state: { n: seq },
        });
      }
      j.append(inLine({ seq, atUs, input: advert(seq % 40) }));
    }
    j.close();
    expect(rotations).toBeGreaterThan(3);
    const segs = listSegments(path);
    expect(segs).toEqual([rotations - 1, rotations, rotations + 1]);
    expect(existsSync(segmentPath(path, 1))).toBe(false);
    for (const s of segs) {
      const text = readFileSync(segmentPath(path, s), "utf8");
      const r = readJournal(text);
      if (!r.ok) throw new Error(`${s}: ${r.error.line}: ${r.error.message}`);
      expect(r.header.seg).toBe(s);
      expect(r.closed).toBe(true);
      const first = r.lines[1];
      if (first?.t !== "in" || r.checkpoint === undefined) throw new Error("no checkpoint / input");
      expect(first.ev.seq).toBe(r.checkpoint.seq + 1);
      if (s !== segs.at(-1)) expect(text.length).toBeLessThan(4000 + 2000);
    }
    // A new run continues after the highest segment number instead of overwriting.
    const k = new FileJournal(path, { maxSegmentBytes: 4000, maxSegments: 3, sync: false });
    expect(k.currentPath).toBe(segmentPath(path, rotations + 2));
    k.close();
  });
});

describe("durability", () => {
  test("a batch waits at most flushDelayUs on the clock and < flushLines lines; a state change is written at once", () => {
    const d = fresh();
    const path = join(d, "dur.jsonl");
    const clock = new VirtualClock();
    const j = new FileJournal(path, { clock, flushLines: 100, flushDelayUs: 50_000, sync: false });
    const size = () => statSync(path).size;
    j.append(header);
    j.append(inLine({ seq: 1, atUs: 0, input: advert(1) }));
    expect(size()).toBe(0);
    clock.advanceBy(49_999);
    expect(size()).toBe(0);
    clock.advanceBy(1);
    const a = size();
    expect(a).toBeGreaterThan(0);
    const text = readFileSync(path, "utf8");
    expect(endsAtWriteBoundary(text)).toBe(true);
    const r = readJournal(text);
    expect(r.ok && !r.closed && r.lines.length === 2).toBe(true);
    j.append(inLine({ seq: 2, atUs: 50_000, input: timer }));
    j.append(stateOut(2));
    expect(size()).toBeGreaterThan(a);
    for (let seq = 3; seq < 102; seq++) j.append(inLine({ seq, atUs: 50_000, input: advert(seq) }));
    const b = size();
    j.append(inLine({ seq: 102, atUs: 50_000, input: advert(102) }));
    expect(size()).toBeGreaterThan(b); // the 100th buffered line forced a write
    j.close();
  });
});

describe("a live node's rotated segments replay on their own", () => {
  test("every retained segment passes vigil replay --verify --strict from its checkpoint", async () => {
    const { runCase } = await import("../conformance/runner.ts");
    const { Node } = await import("../../src/runtime/node.ts");
    const { RecordingPorts } = await import("../../src/runtime/ports.ts");
    const { replayCommand } = await import("../../src/cli/replay.ts");
    const plain = runCase(
      join(import.meta.dirname, "..", "conformance", "cases", "02-takeover-priority-100"),
      false,
    ).journal;
    const h = JSON.parse(plain.lines[0] as string);
    const d = fresh();
    const path = join(d, "live.jsonl");
    const clock = new VirtualClock();
    const journal = new FileJournal(path, { clock, maxSegmentBytes: 600, maxSegments: 4, sync: false });
    const node = new Node(h.spec, { clock, ports: new RecordingPorts(() => clock.nowUs()), journal });
    node.start();
    clock.advanceBy(120_000_000); // two minutes as MASTER: ~120 adverts
    node.close();
    const segs = listSegments(path);
    expect(segs.length).toBe(4);
    expect(segs[0]).toBeGreaterThan(1);
    for (const s of segs) {
      let err = "";
      const code = await replayCommand.run([segmentPath(path, s), "--verify", "--strict"], {
        stdout: () => {},
        stderr: (t) => (err += t),
      });
      expect(code, err).toBe(0);
      expect(err).toContain("verify ok");
    }
  });
});
