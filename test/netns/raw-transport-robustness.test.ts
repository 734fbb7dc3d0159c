/**
 * The raw transport on a real host survives hostile input: a reassembled 5000-byte protocol-112
 * datagram (IPv4 and IPv6) is counted as oversized, a 1-byte one as unusable, nothing throws, and
 * the next good advert of each family is delivered with its TTL, destination and receive time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { Lab, waitFor } from "../support/lab.ts";
import type { AdvertiserInstance } from "./support/raw-advertiser.ts";
import { startScript } from "./support/vigil.ts";

const suite = "netns: raw transport counts oversized and short datagrams and keeps working";

interface Line {
  readonly rx?: number;
  readonly src?: string;
  readonly dst?: string;
  readonly ttl?: number;
  readonly length?: number;
  readonly rxAtUs?: number;
  readonly stats?: readonly ({ vrid: number } & Record<string, number>)[];
}

describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab;
  let out: Line[] = [];
  let blastOut = "";
  let ll1 = "";

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}rb`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    ll1 = await lab.linkLocal(h1);
    const listen = (family: 4 | 6): AdvertiserInstance => ({
      vrid: 32,
      ifname: "eth0",
      family,
      mode: "multicast",
      version: 3,
      priority: 1,
      advertIntervalCs: 100,
      addresses: [family === 4 ? `198.18.${lab.subnet}.32` : "2001:2::32"],
      dst: family === 4 ? "224.0.0.18" : "ff02::12",
      sendCount: 0,
    });
    const receiver = startScript(lab, h2.ns, "raw-advertiser.ts", [JSON.stringify([listen(4), listen(6)])]);
    try {
      await receiver.waitForOutput(/advertising/, 15_000);
      const blast = startScript(lab, h1.ns, "raw-blast.ts", ["eth0", "32", `198.18.${lab.subnet}`]);
      await blast.waitExit(15_000);
      blastOut = blast.output;
      await waitFor("both good adverts", () =>
        (receiver.stdout.match(/"rx":32/g) ?? []).length >= 2 ? true : undefined,
      );
      await receiver.stop("SIGTERM");
      out = receiver.stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Line);
    } finally {
      await receiver.stop();
    }
  }, 45_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("sent the hostile datagrams", () => {
    expect(blastOut).toContain('"blasted":true');
    expect(blastOut).not.toMatch(/send: /);
  });

  it("counts them and delivers only the good adverts", () => {
    const stats = out.find((l) => l.stats !== undefined)?.stats ?? [];
    const [v4, v6] = stats;
    expect(v4?.oversized).toBe(1);
    expect(v4?.unknownVrid).toBe(1); // the 1-byte datagram has no VRID
    expect(v6?.oversized).toBe(1);
    const rx = out.filter((l) => l.rx === 32);
    expect(rx).toHaveLength(2);
    expect(rx).toContainEqual(
      expect.objectContaining({ src: lab.host(1).ipv4, dst: "224.0.0.18", ttl: 255, length: 12 }),
    );
    expect(rx).toContainEqual(expect.objectContaining({ src: ll1, dst: "ff02::12", ttl: 255, length: 24 }));
    for (const r of rx) expect(r.rxAtUs).toBeGreaterThan(0);
  });
});
