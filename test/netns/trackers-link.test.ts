/**
 * The link probe in a lab namespace: the real initial state (an interface that does not exist is
 * down), then rtnetlink events as `ip link set down/up` changes eth0 and a veth interface that did
 * not exist at start appears and is deleted. The namespace is removed afterwards, also on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { Lab, type LabProcess, mustRun } from "../support/lab.ts";
import { startScript } from "./support/vigil.ts";

const suite = "netns: link probe (rtnetlink events)";

describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab;
  let proc: LabProcess | undefined;
  beforeAll(async () => {
    lab = await Lab.create({ hosts: 1, prefix: `vl${process.pid % 10000}` });
  }, 60_000);
  afterAll(async () => {
    await proc?.stop();
    await lab?.destroy();
  }, 30_000);

  const lines = (): string[] => (proc?.stdout ?? "").split("\n").filter((l) => l.startsWith("{"));

  it("reports the initial state and each change, with no polling", async () => {
    const ns = lab.host(1).ns;
    proc = startScript(lab, ns, "trackers-link.ts", ["eth0", "late0"]);
    const init = await proc.waitForOutput(/initial (\{.*\})/, 20_000);
    expect(JSON.parse(init[1] ?? "")).toEqual({ eth0: true, late0: false });
    await proc.waitForOutput(/"ifname":"late0","up":false/, 10_000);
    await proc.waitForOutput(/"ifname":"eth0","up":true/, 10_000);
    const base = lines().length;
    await mustRun("ip", ["-n", ns, "link", "set", "eth0", "down"]);
    await proc.waitForOutput(/"ifname":"eth0","up":false/, 5000);
    await mustRun("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    await mustRun("ip", ["-n", ns, "link", "add", "late0", "type", "veth", "peer", "name", "late0p"]);
    await mustRun("ip", ["-n", ns, "link", "set", "late0p", "up"]);
    await mustRun("ip", ["-n", ns, "link", "set", "late0", "up"]);
    await proc.waitForOutput(/"ifname":"late0","up":true/, 5000);
    await mustRun("ip", ["-n", ns, "link", "del", "late0"]);
    await new Promise((r) => setTimeout(r, 300));
    const after = lines()
      .slice(base)
      .map((l) => JSON.parse(l) as { ifname: string; up: boolean });
    // eth0 comes back up only once the bridge side carries (IFF_RUNNING), so wait for it too
    await proc.waitForOutput(/"ifname":"eth0","up":false[\s\S]*"ifname":"eth0","up":true/, 5000);
    expect(after.filter((e) => e.ifname === "late0")).toEqual([
      { kind: "link", ifname: "late0", up: true },
      { kind: "link", ifname: "late0", up: false },
    ]);
  }, 60_000);
});
