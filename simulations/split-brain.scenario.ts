/**
 * The split-brain scenario: two keepalived.conf nodes (simulations/configs/lb1.conf at priority 150,
 * lb2.conf at 100) on one simulated LAN under one VirtualClock and one seeded PRNG. Timeline:
 * both start at 0 s; at 10 s the LAN is partitioned (both become MASTER: split brain); at 20 s it
 * heals (the lower priority yields); at 30 s lb1 shuts down (priority 0, lb2 takes over within the
 * skew); the run ends at 40 s. Optional seeded packet loss on every link.
 *
 * Everything is derived from the seed and the configs, so the same seed gives the same timeline and
 * output hash. Run it: `npx tsx simulations/split-brain.scenario.ts [--seed N] [--loss-ppm N]`.
 * Not pure (it runs Nodes), deterministic.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ArgsSpec,
  EX_USAGE,
  helpText,
  parseCommandArgs,
  parseIntegerArg,
  stringOption,
  usageError,
} from "../src/cli/args.ts";
import { loadConfig } from "../src/config/load.ts";
import { VirtualClock } from "../src/runtime/clock.ts";
import { nodeFromConfig } from "../src/runtime/config.adapter.ts";
import { MemoryJournal } from "../src/runtime/journal.ts";
import type { Node } from "../src/runtime/node.ts";
import { RecordingPorts } from "../src/runtime/ports.ts";
import { Prng } from "../src/runtime/prng.ts";
import { SimNetwork } from "../transports/sim.transport.ts";

const S = 1_000_000;
const here = dirname(fileURLToPath(import.meta.url));

export interface ScenarioOptions {
  readonly seed: number;
  /** Loss on every link, parts per million. */
  readonly lossPpm?: number;
}

export interface ScenarioResult {
  /** `atUs node transition` lines and scenario marks, in time order. */
  readonly timeline: readonly string[];
  /** Per node: the sha256 of everything the node emitted, and its journal. */
  readonly outputHashes: Readonly<Record<string, string>>;
  readonly journals: Readonly<Record<string, string>>;
  /** Seconds (virtual) spent with two MASTERs, and with none, after the first election. */
  readonly dualMasterUs: number;
  readonly noMasterUs: number;
  readonly hash: string;
}

const NODES = [
  { name: "lb1", ip: "198.18.0.1" },
  { name: "lb2", ip: "198.18.0.2" },
] as const;

export function runSplitBrain(options: ScenarioOptions): ScenarioResult {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, new Prng(options.seed));
  const timeline: string[] = [];
  const state = new Map<string, string>();
  const nodes = new Map<string, { node: Node; journal: MemoryJournal }>();
  let dualMasterUs = 0;
  let noMasterUs = 0;
  let lastUs = 0;
  let elected = false;
  const account = (): void => {
    const now = clock.nowUs();
    const masters = [...state.values()].filter((s) => s === "MASTER").length;
    if (elected && masters === 2) dualMasterUs += now - lastUs;
    if (elected && masters === 0) noMasterUs += now - lastUs;
    if (masters > 0) elected = true;
    lastUs = now;
  };

  for (const { name, ip } of NODES) {
    net.attach(name, { ifname: "eth0", segment: "lan", ipv4: ip });
    const loaded = loadConfig(join(here, "configs", `${name}.conf`), { configId: name });
    if (loaded.config === undefined)
      throw new Error(`${name}.conf: ${loaded.diagnostics.map((d) => d.message).join("; ")}`);
    const journal = new MemoryJournal();
    const node = nodeFromConfig(
      loaded.config,
      {
        clock,
        ports: new RecordingPorts(() => clock.nowUs()),
        journal,
        transport: net.transport(name),
        onApplied: (_ev, outs) => {
          for (const o of outs) {
            if (o.type !== "state" || !o.actor.startsWith("instance:")) continue;
            account();
            state.set(name, o.to);
            timeline.push(`${clock.nowUs()} ${name} ${o.from} -> ${o.to}`);
          }
        },
      },
      { primaryAddress: () => ip },
    );
    nodes.set(name, { node, journal });
  }
  if (options.lossPpm !== undefined && options.lossPpm > 0)
    net.setLinkFaultsBoth("lb1", "lb2", { lossPpm: options.lossPpm });

  const mark = (atUs: number, what: string, change: () => void): void =>
    net.at(atUs, () => {
      account();
      timeline.push(`${atUs} -- ${what}`);
      change();
    });
  for (const { node } of nodes.values()) node.start();
  mark(10 * S, "partition lb1 | lb2", () => net.partition(["lb1"], ["lb2"]));
  mark(20 * S, "heal", () => net.heal());
  mark(30 * S, "shutdown lb1", () => nodes.get("lb1")?.node.shutdown());
  clock.advanceTo(40 * S);
  account();

  const outputHashes: Record<string, string> = {};
  const journals: Record<string, string> = {};
  for (const [name, { node, journal }] of nodes) {
    outputHashes[name] = node.outputHash();
    journals[name] = journal.lines.join("\n");
    node.close();
  }
  const hash = createHash("sha256").update(JSON.stringify({ timeline, outputHashes })).digest("hex");
  return { timeline, outputHashes, journals, dualMasterUs, noMasterUs, hash };
}

const argsSpec: ArgsSpec = {
  invocation: "split-brain.scenario.ts",
  synopsis: "[--seed N] [--loss-ppm N]",
  summary: "run the split-brain scenario and print its timeline and run hash",
  options: {
    seed: { type: "string", valueName: "N", description: "PRNG seed, 0 to 4294967295 (default 1)" },
    "loss-ppm": {
      type: "string",
      valueName: "N",
      description: "loss on every link, 0 to 1000000 ppm (default 0)",
    },
  },
  notes: ["", "exit status: 0 ok, 64 usage error"],
};

/** The scenario's options from its command line, or what to print and the exit status. */
export function parseScenarioArgs(
  argv: readonly string[],
): ScenarioOptions | { readonly exitCode: number; readonly stdout?: string; readonly stderr?: string } {
  const parsed = parseCommandArgs(argsSpec, argv);
  if (parsed.kind === "help") return { exitCode: 0, stdout: helpText(argsSpec) };
  if (parsed.kind === "error") return { exitCode: EX_USAGE, stderr: usageError(argsSpec, parsed.message) };
  const number = (name: string, fallback: number, max: number): number | string => {
    const text = stringOption(parsed.values, name);
    return text === undefined ? fallback : parseIntegerArg(`--${name}`, text, 0, max);
  };
  const seed = number("seed", 1, 0xffff_ffff);
  const lossPpm = number("loss-ppm", 0, 1_000_000);
  for (const v of [seed, lossPpm])
    if (typeof v === "string") return { exitCode: EX_USAGE, stderr: usageError(argsSpec, v) };
  return { seed: seed as number, lossPpm: lossPpm as number };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const options = parseScenarioArgs(process.argv.slice(2));
  if ("exitCode" in options) {
    if (options.stdout !== undefined) process.stdout.write(options.stdout);
    if (options.stderr !== undefined) process.stderr.write(options.stderr);
    process.exitCode = options.exitCode;
  } else {
    const result = runSplitBrain(options);
    for (const line of result.timeline) {
      const [us, ...rest] = line.split(" ");
      process.stdout.write(`${(Number(us) / S).toFixed(6).padStart(10)}s  ${rest.join(" ")}\n`);
    }
    process.stdout.write(
      `two masters for ${(result.dualMasterUs / S).toFixed(6)} s, none for ${(result.noMasterUs / S).toFixed(6)} s\n` +
        `run hash ${result.hash}\n`,
    );
  }
}
