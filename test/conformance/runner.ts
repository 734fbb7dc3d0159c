/**
 * Runs one conformance case stored as data (DESIGN.md §5): `keepalived.conf`, numbered input steps
 * `NN-input.jsonl`, and per step one expected-output file per channel `NN-output-<channel>.jsonl`
 * (wire, os, notify, state, log). A missing output file means "expect nothing". The node runs on a
 * VirtualClock; peer adverts are encoded with the real codec.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { nodeFromConfig } from "../../src/runtime/config.adapter.ts";
import { MemoryJournal } from "../../src/runtime/journal.ts";
import type { Output } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";

export const CHANNELS = ["wire", "os", "notify", "state", "log"] as const;
export type Channel = (typeof CHANNELS)[number];

interface AdvertStep {
  src: string;
  priority: number;
  vrid?: number;
  version?: 2 | 3;
  intervalCs?: number;
  vips?: string[];
  ttl?: number;
}
type Step =
  | { atUs: number; admin: "start" | "shutdown" }
  | { atUs: number; advert: AdvertStep }
  | {
      atUs: number;
      /** `value`: a track_file reading; `running`: a vrrp_track_process count (then `ok` is ignored). */
      probe: { tracker: string; ok: boolean; value?: number; running?: number };
    }
  | { atUs: number; link: { ifname: string; up: boolean } }
  | { runUntilUs: number };

const channelOf = (o: Output): Channel | undefined => {
  switch (o.type) {
    case "sendAdvert":
      return "wire";
    case "addVips":
    case "removeVips":
    case "garp":
      return "os";
    case "notify":
    case "fifo":
      return "notify";
    case "state":
      return "state";
    case "log":
      return "log";
    default:
      return undefined;
  }
};

export interface StepResult {
  readonly step: string;
  readonly actual: Record<Channel, string>;
  readonly expected: Record<Channel, string>;
}

export const runCase = (dir: string, update: boolean) => {
  const loaded = loadConfig(join(dir, "keepalived.conf"));
  if (loaded.config === undefined)
    throw new Error(`${dir}: config errors: ${JSON.stringify(loaded.diagnostics)}`);
  const clock = new VirtualClock();
  const journal = new MemoryJournal();
  let current: Array<{ atUs: number; out: Output }> = [];
  const node = nodeFromConfig(
    loaded.config,
    {
      clock,
      ports: nullPorts(),
      journal,
      onApplied: (ev, outs) => {
        for (const out of outs) current.push({ atUs: ev.atUs, out });
      },
    },
    { primaryAddress: () => "198.18.0.1" },
  );
  const results: StepResult[] = [];
  const steps = readdirSync(dir)
    .filter((f) => /^\d\d-input\.jsonl$/.test(f))
    .sort();
  for (const file of steps) {
    const prefix = file.slice(0, 2);
    current = [];
    const lines = readFileSync(join(dir, file), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("#"))
      .map((l) => JSON.parse(l) as Step);
    for (const s of lines) {
      if ("runUntilUs" in s) {
        clock.advanceTo(s.runUntilUs);
        continue;
      }
      clock.advanceTo(s.atUs);
      if ("admin" in s) node.input({ kind: "admin", command: s.admin });
      else if ("probe" in s) node.input({ kind: "probe", ...s.probe });
      else if ("link" in s) node.input({ kind: "link", ...s.link });
      else {
        const a = s.advert;
        const bytes = encodeAdvert(
          {
            version: a.version ?? 2,
            vrid: a.vrid ?? 1,
            priority: a.priority,
            advertIntervalCs: a.intervalCs ?? 100,
            addresses: a.vips ?? ["198.18.0.100"],
          },
          4,
          { src: a.src, dst: "224.0.0.18" },
        );
        node.input({
          kind: "rx",
          family: 4,
          src: a.src,
          dst: "224.0.0.18",
          ttl: a.ttl ?? 255,
          ifname: "eth0",
          hex: Buffer.from(bytes).toString("hex"),
        });
      }
    }
    const actual = Object.fromEntries(CHANNELS.map((c) => [c, ""])) as Record<Channel, string>;
    for (const { atUs, out } of current) {
      const ch = channelOf(out);
      if (ch) actual[ch] += `${JSON.stringify({ atUs, ...out })}\n`;
    }
    const expected = Object.fromEntries(
      CHANNELS.map((c) => {
        const p = join(dir, `${prefix}-output-${c}.jsonl`);
        return [c, existsSync(p) ? readFileSync(p, "utf8") : ""];
      }),
    ) as Record<Channel, string>;
    if (update) {
      for (const c of CHANNELS) {
        const p = join(dir, `${prefix}-output-${c}.jsonl`);
        if (actual[c] === "") rmSync(p, { force: true });
        else writeFileSync(p, actual[c]);
      }
    }
    results.push({ step: prefix, actual, expected: update ? actual : expected });
  }
  node.close();
  return { results, journal };
};
