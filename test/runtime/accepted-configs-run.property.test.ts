/**
 * A configuration `vigil check` accepts must run: every valid fixture, and fast-check-fuzzed
 * instance blocks (many IPv4/IPv6 VIPs, both versions, PASS auth, unicast, fast adverts), build a
 * node (`nodeFromConfig`) on the VirtualClock with a simulated-network transport, so every advert is
 * really encoded. Alone, with every tracker reporting OK and every link up, each instance becomes
 * MASTER; a higher-priority advert for each instance (encoded with the real codec, as its peer
 * would send it) turns it BACKUP; then the node runs 10 virtual minutes. Nothing may throw.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { encodeAdvert, passwordAuthData } from "../../src/protocol/codec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { nodeFromConfig } from "../../src/runtime/config.adapter.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { Prng } from "../../src/runtime/prng.ts";
import { SimNetwork } from "../../transports/sim.transport.ts";
import { memFs } from "../config/memfs.ts";

const S = 1_000_000;
const OWN4 = "198.18.0.1";
const OWN6 = "fe80::1";

/** Runs `config` as described in the module comment; returns the first error, or undefined. */
function runConfig(config: Config): string | undefined {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, new Prng(1));
  const ifnames = new Set<string>([config.global.defaultInterface]);
  for (const i of config.instances) {
    if (i.interface !== null) ifnames.add(i.interface);
    for (const v of [...i.vips, ...i.excludedVips]) if (v.dev !== null) ifnames.add(v.dev);
  }
  for (const ifname of ifnames) net.attach("a", { ifname, segment: "lan", ipv4: OWN4, ipv6: OWN6 });
  const states = new Map<string, string>();
  const node = nodeFromConfig(
    config,
    {
      clock,
      ports: nullPorts(),
      transport: net.transport("a"),
      onApplied: (_ev, outs) => {
        for (const o of outs) if (o.type === "state") states.set(o.actor, o.to);
      },
    },
    { primaryAddress: (_ifname, family) => (family === 4 ? OWN4 : OWN6) },
  );
  const stateOf = (name: string): string | undefined =>
    [...states.entries()].find(
      ([actor]) => actor === name || actor.endsWith(`:${name}`) || actor.endsWith(`/${name}`),
    )?.[1];
  node.start();
  for (const ifname of ifnames) node.input({ kind: "link", ifname, up: true });
  for (const t of [...config.scripts, ...config.files])
    node.input({ kind: "probe", tracker: t.name, ok: true, value: 0 });
  for (const p of config.processes)
    node.input({ kind: "probe", tracker: p.name, ok: true, running: Math.max(1, p.quorum) });
  // alone, a backup takes over after its down timer (down_timer_adverts + 1 adverts, with margin)
  const aloneUs =
    config.global.startupDelayUs +
    Math.max(
      60 * S,
      ...config.instances.map(
        (i) => (i.downTimerAdverts + 2) * i.advertIntervalCs * 10_000 + i.preemptDelayUs,
      ),
    );
  clock.advanceTo(aloneUs);
  for (const i of config.instances) {
    if (stateOf(i.name) !== "MASTER")
      return `${i.name}: ${stateOf(i.name) ?? "no state"} after ${aloneUs} µs alone, not MASTER`;
  }
  for (const i of config.instances) {
    const family = i.family === "ipv4" ? 4 : 6;
    const unicast = i.unicastPeers.length > 0;
    const src = unicast
      ? (i.unicastPeers[0]?.address as string)
      : family === 4
        ? "198.18.255.254"
        : "fe80::ffff";
    // to the instance's own group (its socket gets no other: keepalived binds it to the group)
    const dst = unicast ? (i.unicastSrcIp ?? (family === 4 ? OWN4 : OWN6)) : i.mcastGroup;
    const own = i.unicastSrcIp ?? i.mcastSrcIp ?? (family === 4 ? OWN4 : OWN6);
    const bytes = encodeAdvert(
      {
        version: i.version,
        vrid: i.vrid,
        priority: 255,
        advertIntervalCs: i.advertIntervalCs,
        addresses: i.vips.map((v) => v.address),
        ...(i.auth.type === "PASS" ? { authType: 1 as const, authData: passwordAuthData(i.auth.pass) } : {}),
      },
      family,
      { src, dst },
    );
    node.input({
      kind: "rx",
      family,
      src,
      dst,
      // within the first peer's min_ttl..max_ttl (check_unicast_src rejects anything else)
      ttl: unicast ? (i.unicastPeers[0]?.maxTtl ?? 255) : 255,
      ifname: i.interface ?? config.global.defaultInterface,
      hex: Buffer.from(bytes).toString("hex"),
    });
    // at equal priority (an address owner) the higher address wins; AH adverts are not sent here
    const decidable = i.auth.type !== "AH" && (i.basePriority < 255 || compareIp(src, own) > 0);
    if (decidable && stateOf(i.name) !== "BACKUP")
      return `${i.name}: ${stateOf(i.name)} after a priority-255 advert from ${src}, not BACKUP`;
  }
  clock.advanceTo(aloneUs + 600 * S);
  node.shutdown();
  return undefined;
}

const compareIp = (a: string, b: string): number => {
  const key = (ip: string) =>
    ip.includes(":")
      ? ip
          .split(":")
          .map((h) => h.padStart(4, "0"))
          .join(":")
      : ip
          .split(".")
          .map((o) => o.padStart(3, "0"))
          .join(".");
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
};

const load = (text: string): Config | undefined =>
  loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) }).config;

describe("every configuration vigil check accepts runs", () => {
  const dir = "test/config/fixtures/valid";
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith(".conf"))
    .sort()) {
    it(f, () => {
      const config = loadConfig(join(dir, f), { configId: "lb1" }).config;
      expect(config, `${f} is accepted`).toBeDefined();
      expect(runConfig(config as Config)).toBeUndefined();
    });
  }

  it("more VIPs than fit one advert: moved to eVIPs, the node runs (300 IPv4, 100 IPv6)", () => {
    for (const [family, count, max] of [
      ["4", 300, 255],
      ["6", 100, 89],
    ] as const) {
      const vips = Array.from({ length: count }, (_, k) =>
        family === "4" ? `198.18.${k >> 8}.${(k & 255) + 0}` : `2001:db8::${(k + 1).toString(16)}`,
      );
      const text = `vrrp_instance V {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  ${vips.join("\n  ")}\n }\n}\n`;
      const r = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) });
      expect(r.diagnostics.map((d) => d.message)).toContain(
        `(V) Number of VIPs (${count}) exceeds maximum/space available in packet (max ${max} addresses) - excess moved to eVIPs`,
      );
      const inst = r.config?.instances[0];
      expect(inst?.vips.length).toBe(max);
      expect(inst?.excludedVips.map((v) => v.address)).toEqual(vips.slice(max));
      expect(runConfig(r.config as Config)).toBeUndefined();
    }
  });

  const instance = fc.record({
    v6: fc.boolean(),
    vips: fc.integer({ min: 1, max: 320 }),
    version: fc.constantFrom("", "version 2", "version 3"),
    priority: fc.integer({ min: 1, max: 255 }),
    advertCs: fc.constantFrom(5, 100, 300),
    pass: fc.boolean(),
    unicast: fc.boolean(),
    nopreempt: fc.boolean(),
  });
  const configText = (xs: ReadonlyArray<typeof instance extends fc.Arbitrary<infer T> ? T : never>) =>
    xs
      .map((x, n) => {
        const addr = (k: number) =>
          x.v6 ? `2001:db8:${n}::${(k + 1).toString(16)}` : `198.18.${n * 2 + (k >> 8)}.${k & 255}`;
        return [
          `vrrp_instance V${n} {`,
          ` interface eth${n % 2}`,
          ` virtual_router_id ${n + 1}`,
          ` priority ${x.priority}`,
          ` ${x.version}`,
          ` advert_int ${x.advertCs / 100}`,
          x.nopreempt ? " nopreempt" : "",
          x.pass ? " authentication {\n  auth_type PASS\n  auth_pass secret\n }" : "",
          x.unicast ? ` unicast_peer {\n  ${x.v6 ? "2001:db8:ff::2" : "198.18.200.2"}\n }` : "",
          ` virtual_ipaddress {\n  ${Array.from({ length: x.vips }, (_, k) => addr(k)).join("\n  ")}\n }`,
          "}",
        ].join("\n");
      })
      .join("\n");

  it("fuzzed instance blocks that check accepts run", () =>
    fc.assert(
      fc.property(fc.array(instance, { minLength: 1, maxLength: 3 }), (xs) => {
        const config = load(configText(xs));
        if (config !== undefined) expect(runConfig(config)).toBeUndefined();
      }),
      { numRuns: 25, seed: 7 },
    ));
});
