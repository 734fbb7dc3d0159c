/**
 * The UDP transport (a Vigil extension) carries VRRP adverts between two namespaces with no root-only
 * socket on either side: sender and receiver run as nobody (uid 65534, no groups, via setpriv), which
 * cannot open raw sockets (shown by `vigil sniff` failing with a permission error as that user).
 * IPv4 multicast (224.0.0.18), IPv4 unicast and IPv6 multicast (ff02::12, link-local source); the
 * receiver decodes each advert with the codec and the checksum (over the UDP endpoints) holds.
 * The scripts nobody runs are bundled into a world-readable temp dir first (stageForUser), since
 * the checkout may be in a directory nobody cannot enter (a clone under /root, `mktemp -d`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { Lab, type LabProcess, waitFor } from "../support/lab.ts";
import { nodeUnusableBy, type StagedScripts, stageForUser } from "./support/vigil.ts";

const suite = "netns: UDP transport between namespaces as an unprivileged user";
const NOBODY = 65534;

/** The lab's needs, plus a node binary that nobody can run (a node under /root/.nvm cannot be). */
const skip = (): boolean => {
  if (skipUnlessLab(suite, { netns: true })) return true;
  const why = nodeUnusableBy(NOBODY);
  if (why === undefined) return false;
  if (process.env.CI === "true") throw new Error(`${suite}: ${why} — under CI=true this is a failure`);
  console.warn(`[skip] ${suite}: ${why}`);
  return true;
};

interface Received {
  readonly uid: number;
  readonly src: string;
  readonly dst: string;
  readonly version?: number;
  readonly vrid?: number;
  readonly priority?: number;
  readonly advertIntervalCs?: number;
  readonly addresses?: readonly string[];
  readonly checksumOk?: boolean;
  readonly reject?: unknown;
}

const lines = (p: LabProcess): Received[] =>
  p.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Received);

describe.skipIf(skip())(suite, () => {
  let lab: Lab;
  let staged: StagedScripts | undefined;
  let rx4: Received[] = [];
  let rx6: Received[] = [];
  let senderOut = "";
  let sniffAsNobody = { code: 0 as number | null | undefined, stderr: "" };
  let ll1 = "";
  let ll2 = "";

  beforeAll(async () => {
    staged = await stageForUser();
    const peer = staged.udpPeer;
    const startScript = (ns: string, args: readonly string[]) =>
      lab.spawn(ns, process.execPath, [peer, ...args], { label: `udp-peer@${ns}`, uid: NOBODY });
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}ud`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    ll1 = await lab.linkLocal(h1);
    ll2 = await lab.linkLocal(h2);
    const recv4 = startScript(h2.ns, ["receive", h2.ipv4, "eth0", "224.0.0.18"]);
    const recv6 = startScript(h2.ns, ["receive", ll2, "eth0", "ff02::12"]);
    try {
      await recv4.waitForOutput(/ready uid=65534/, 15_000);
      await recv6.waitForOutput(/ready uid=65534/, 15_000);
      const send = async (bind: string, dst: string, fields: object): Promise<void> => {
        const p = startScript(h1.ns, ["send", bind, "eth0", dst, "3", JSON.stringify(fields)]);
        await p.waitExit(15_000);
        senderOut += p.output;
      };
      const net = `198.18.${lab.subnet}`;
      await Promise.all([
        send(h1.ipv4, "224.0.0.18", {
          version: 3,
          vrid: 41,
          priority: 150,
          advertIntervalCs: 100,
          addresses: [`${net}.141`],
        }),
        send(h1.ipv4, h2.ipv4, {
          version: 3,
          vrid: 42,
          priority: 120,
          advertIntervalCs: 50,
          addresses: [`${net}.142`],
        }),
        send(h1.ipv4, "224.0.0.18", {
          version: 2,
          vrid: 44,
          priority: 110,
          advertIntervalCs: 100,
          addresses: [`${net}.144`],
        }),
        send(ll1, "ff02::12", {
          version: 3,
          vrid: 43,
          priority: 130,
          advertIntervalCs: 100,
          addresses: ["2001:2::143"],
        }),
      ]);
      await waitFor("all adverts at the receivers", () =>
        lines(recv4).length >= 9 && lines(recv6).length >= 3 ? true : undefined,
      );
      rx4 = lines(recv4);
      rx6 = lines(recv6);
      const sniff = lab.spawn(
        h2.ns,
        process.execPath,
        [staged.vigil, "sniff", "-i", "eth0", "--count", "1"],
        {
          uid: NOBODY,
        },
      );
      await sniff.waitExit(15_000);
      sniffAsNobody = { code: sniff.code, stderr: sniff.stderr };
    } finally {
      await recv4.stop();
      await recv6.stop();
    }
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    staged?.remove();
  });

  it("really runs without raw-socket privileges (vigil sniff is refused as nobody)", () => {
    expect(sniffAsNobody.stderr).toMatch(/Operation not permitted/);
    expect(sniffAsNobody.code).toBe(77);
    expect(senderOut).toMatch(/"uid":65534,"sent":3,"sendErrors":0/);
  });

  it("carries IPv4 multicast v3 and v2 adverts, decoded with a good checksum", () => {
    const h1 = lab.host(1).ipv4;
    const v41 = rx4.filter((r) => r.vrid === 41);
    expect(v41.length).toBe(3);
    for (const r of v41)
      expect(r).toMatchObject({
        uid: NOBODY,
        src: h1,
        dst: "224.0.0.18",
        version: 3,
        priority: 150,
        advertIntervalCs: 100,
        checksumOk: true,
      });
    const v44 = rx4.filter((r) => r.vrid === 44);
    expect(v44.length).toBe(3);
    for (const r of v44)
      expect(r).toMatchObject({
        uid: NOBODY,
        src: h1,
        dst: "224.0.0.18",
        version: 2,
        priority: 110,
        checksumOk: true,
      });
  });

  it("carries IPv4 unicast adverts with the checksum over the peer address", () => {
    const v42 = rx4.filter((r) => r.vrid === 42);
    expect(v42.length).toBe(3);
    for (const r of v42)
      expect(r).toMatchObject({
        uid: NOBODY,
        src: lab.host(1).ipv4,
        dst: lab.host(2).ipv4,
        version: 3,
        priority: 120,
        advertIntervalCs: 50,
        addresses: [`198.18.${lab.subnet}.142`],
        checksumOk: true,
      });
  });

  it("carries IPv6 multicast adverts from the link-local address", () => {
    const v43 = rx6.filter((r) => r.vrid === 43);
    expect(v43.length).toBe(3);
    for (const r of v43)
      expect(r).toMatchObject({
        uid: NOBODY,
        src: ll1,
        dst: "ff02::12",
        version: 3,
        priority: 130,
        addresses: ["2001:2::143"],
        checksumOk: true,
      });
  });

  it("receives nothing undecodable", () => {
    expect([...rx4, ...rx6].filter((r) => r.reject !== undefined)).toEqual([]);
  });
});
