/**
 * Codec throughput on one core: decode + validate, and encode (per-send template render and one-off
 * encode), for v2 PASS, v3 IPv4 multicast, v3 IPv4 unicast and v3 IPv6 adverts. Goal: ≥ 3 million
 * adverts/s each way. Run: `npx tsx bench/codec.bench.ts` (about 15 s; BENCH_N sets iterations per round). Not a test: prints figures.
 */
import {
  type AdvertFields,
  compileAdvert,
  decodeAdvert,
  type Expectations,
  encodeAdvert,
  type Family,
  type PseudoHeader,
  passwordAuthData,
  prepareExpectations,
  type RxMeta,
  validateAdvert,
} from "../src/protocol/codec.ts";

interface Case {
  readonly name: string;
  readonly family: Family;
  readonly fields: AdvertFields;
  readonly pseudo: PseudoHeader;
  readonly meta: RxMeta;
  readonly exp: Expectations;
}

const vips4 = ["198.18.0.100", "198.18.0.101"];
const cases: Case[] = [
  {
    name: "v2 PASS, 2 VIPs, multicast",
    family: 4,
    fields: {
      version: 2,
      vrid: 51,
      priority: 100,
      advertIntervalCs: 100,
      addresses: vips4,
      authType: 1,
      authData: passwordAuthData("secret"),
    },
    pseudo: { src: "198.18.0.1", dst: "224.0.0.18" },
    meta: { family: 4, src: "198.18.0.1", dst: "224.0.0.18", ttl: 255 },
    exp: prepareExpectations({
      family: 4,
      version: 2,
      vrid: 51,
      authType: 1,
      authData: passwordAuthData("secret"),
      advertIntervalCs: 100,
      vips: vips4,
    }),
  },
  {
    name: "v3 IPv4, 2 VIPs, multicast",
    family: 4,
    fields: { version: 3, vrid: 51, priority: 100, advertIntervalCs: 100, addresses: vips4 },
    pseudo: { src: "198.18.0.1", dst: "224.0.0.18" },
    meta: { family: 4, src: "198.18.0.1", dst: "224.0.0.18", ttl: 255 },
    exp: prepareExpectations({ family: 4, version: 3, vrid: 51, advertIntervalCs: 100, vips: vips4 }),
  },
  {
    name: "v3 IPv4, 2 VIPs, unicast + check_unicast_src",
    family: 4,
    fields: { version: 3, vrid: 51, priority: 100, advertIntervalCs: 100, addresses: vips4 },
    pseudo: { src: "198.18.0.1", dst: "198.18.0.2" },
    meta: { family: 4, src: "198.18.0.1", dst: "198.18.0.2", ttl: 255 },
    exp: prepareExpectations({
      family: 4,
      version: 3,
      vrid: 51,
      advertIntervalCs: 100,
      vips: vips4,
      unicastPeers: ["198.18.0.1", "198.18.0.3"],
      checkUnicastSrc: true,
    }),
  },
  {
    name: "v3 IPv6, 1 VIP, multicast",
    family: 6,
    fields: { version: 3, vrid: 51, priority: 100, advertIntervalCs: 100, addresses: ["fe80::100"] },
    pseudo: { src: "fe80::1", dst: "ff02::12" },
    meta: { family: 6, src: "fe80::1", dst: "ff02::12", ttl: 255 },
    exp: prepareExpectations({ family: 6, version: 3, vrid: 51, advertIntervalCs: 100, vips: ["fe80::100"] }),
  },
];

/**
 * Runs `fn` `iterations` times, 3 rounds after a warm-up. Reports the best round's rate by wall clock
 * and by process CPU time (user + system, all threads, so GC helpers count against us): on a shared
 * machine the CPU-time rate is the "one core" figure, the wall rate is what this run happened to get.
 */
const measure = (label: string, iterations: number, fn: (i: number) => number): void => {
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 200_000); i++) sink += fn(i); // warm-up
  let bestWall = 0;
  let bestCpu = 0;
  for (let round = 0; round < 3; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += fn(i);
    const wallNs = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    bestWall = Math.max(bestWall, (iterations / wallNs) * 1e9);
    bestCpu = Math.max(bestCpu, (iterations / (cpu.user + cpu.system)) * 1e6);
  }
  const m = (x: number): string => `${(x / 1e6).toFixed(2).padStart(6)} M/s`;
  console.log(
    `${label.padEnd(60)} wall ${m(bestWall)}  cpu ${m(bestCpu)}  ${(1e9 / bestCpu).toFixed(0).padStart(4)} ns  (${sink & 1})`,
  );
};

const N = Number(process.env.BENCH_N ?? 1_000_000);
console.log(`node ${process.version}, ${N} iterations x 3 rounds per line (best round shown)`);
for (const c of cases) {
  const bytes = encodeAdvert(c.fields, c.family, c.pseudo);
  const check = decodeAdvert(bytes, c.meta);
  if (!check.ok || !validateAdvert(check.advert, c.meta, c.exp).ok) {
    throw new Error(`${c.name}: the benchmark packet does not validate`);
  }
  measure(`decode+validate  ${c.name}`, N, () => {
    const r = decodeAdvert(bytes, c.meta);
    return r.ok && validateAdvert(r.advert, c.meta, c.exp).ok ? 1 : 0;
  });
  const template = compileAdvert(c.fields, c.family);
  measure(`encode (render)  ${c.name}`, N, (i) => template.render(i & 0xff, c.pseudo)[7] as number);
  measure(
    `encode (one-off) ${c.name}`,
    Math.floor(N / 4),
    () => encodeAdvert(c.fields, c.family, c.pseudo)[7] as number,
  );
}
