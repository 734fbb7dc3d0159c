/**
 * Configuration front end throughput: parse + validate a generated keepalived.conf of 10,000
 * vrrp_instances (40 interfaces × 250 VRIDs, 2 VIPs, unicast peers on every 4th, a track_script on
 * every instance, 5,000 two-member sync groups). Goal: under 1 s. Phases are timed separately:
 * read + preprocess + parse + keyword walk + resolve + semantic checks ("front end") and the final
 * effect Schema decode of the whole Config ("schema"), plain and with the options loadConfig uses. Also the same config written with ~SEQ and a
 * block macro (the form the keepalived man page uses for large configs).
 * Run: `npx tsx bench/config.bench.ts` (BENCH_INSTANCES sets the count). Not a test: prints figures.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: keepalived macros are literally written ${NAME}
import { cpuUsage } from "node:process";
import { Schema } from "effect";
import { Diagnostics } from "../src/config/diagnostics.ts";
import { newConfigDraft } from "../src/config/draft.ts";
import { topKeywords } from "../src/config/keywords/global.ts";
import { type ConfigFs, loadConfig } from "../src/config/load.ts";
import { parseStatements } from "../src/config/parser.ts";
import { resolveConfig } from "../src/config/resolve.ts";
import { Preprocessor } from "../src/config/source.ts";
import { Config } from "../src/config/types.ts";
import { walk } from "../src/config/values.ts";
import { generated, generatedSeq } from "./config-gen.ts";

const N = Number(process.env.BENCH_INSTANCES ?? 10_000);

const fsOf = (text: string): ConfigFs => ({
  readFile: (p) => (p === "bench.conf" ? text : undefined),
  listDir: () => undefined,
});

interface Sample {
  wallMs: number;
  cpuMs: number;
}
function measure(f: () => void): Sample {
  const c0 = cpuUsage();
  const t0 = performance.now();
  f();
  const wallMs = performance.now() - t0;
  const c = cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}
const best = (xs: Sample[]): Sample => xs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));

function bench(label: string, text: string, expectInstances: number): void {
  const fs = fsOf(text);
  const check = loadConfig("bench.conf", { fs, configId: "bench" });
  const errors = check.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || check.config?.instances.length !== expectInstances)
    throw new Error(
      `${label}: unexpected result: ${errors.length} errors, ${check.config?.instances.length} instances`,
    );
  const total: Sample[] = [];
  const front: Sample[] = [];
  const schema: Sample[] = [];
  const decode = Schema.decodeUnknownSync(Config);
  const strict: Sample[] = [];
  for (let round = 0; round < 5; round++) {
    total.push(measure(() => loadConfig("bench.conf", { fs, configId: "bench" })));
    let plain: unknown;
    front.push(
      measure(() => {
        const diags = new Diagnostics();
        const pre = new Preprocessor(fs, diags, "bench", "");
        pre.readFile("bench.conf");
        const draft = newConfigDraft();
        walk({ diags }, parseStatements(pre.lines, diags), topKeywords, draft);
        plain = resolveConfig(diags, draft, "bench.conf", "bench");
      }),
    );
    schema.push(measure(() => decode(plain)));
    strict.push(measure(() => decode(plain, { errors: "all" })));
  }
  const fmt = (s: Sample) => `${s.wallMs.toFixed(0)} ms wall, ${s.cpuMs.toFixed(0)} ms cpu`;
  console.log(
    `${label}: ${(text.length / 1e6).toFixed(1)} MB, ${text.split("\n").length} lines, ${expectInstances} instances\n` +
      `  loadConfig total (best of 5): ${fmt(best(total))}\n` +
      `  front end only:               ${fmt(best(front))}\n` +
      `  Schema decode only:           ${fmt(best(schema))}\n` +
      `  … with loadConfig's options:  ${fmt(best(strict))} (errors: "all")`,
  );
}

bench("explicit", generated(N), N);
bench("~SEQ + block macro", generatedSeq(N), Math.ceil(N / 250) * 250);
