/**
 * `vigil run` as a non-root user holding only CAP_NET_RAW and CAP_NET_ADMIN, as
 * contrib/vigil.service runs it: started through `setpriv --reuid/--regid --clear-groups
 * --inh-caps --ambient-caps --bounding-set` as nobody (uid 65534; the CLI bundled into a
 * world-readable dir by stageForUser), with its pid file and journal in a directory that user
 * owns. In lab h1:
 *
 * - with the two capabilities: it becomes MASTER, adds its VIP (`ip addr`), and its adverts reach
 *   h2 (tcpdump); the process really runs as uid 65534 with exactly those effective capabilities;
 * - without them (raw transport): exit 77 within seconds, one line naming what is missing;
 * - UDP transport (`vigil_transport udp`) without capabilities: with VIPs to manage it still
 *   refuses (CAP_NET_ADMIN for VIPs, CAP_NET_RAW for gratuitous ARP); under `--dry-run` it needs
 *   none: MASTER, adverts on UDP port 5112 at h2.
 *
 * Needs root and netns (skipUnlessLab) and a node binary nobody can run. Not pure.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, waitFor } from "../support/lab.ts";
import { parseTcpdumpVrrp } from "./support/differential.ts";
import { nodeUnusableBy, type StagedScripts, stageForUser } from "./support/vigil.ts";

const suite = "netns: vigil run as a non-root user with only CAP_NET_RAW and CAP_NET_ADMIN";
const NOBODY = 65534;
const NET_CAPS = "+net_raw,+net_admin";
/** CAP_NET_ADMIN (12) and CAP_NET_RAW (13). */
const NET_CAPS_MASK = (1n << 12n) | (1n << 13n);

const skip = (): boolean => {
  if (skipUnlessLab(suite, { netns: true, tcpdump: true })) return true;
  const why = nodeUnusableBy(NOBODY);
  if (why === undefined) return false;
  if (process.env.CI === "true") throw new Error(`${suite}: ${why} — under CI=true this is a failure`);
  console.warn(`[skip] ${suite}: ${why}`);
  return true;
};

describe.skipIf(skip())(suite, () => {
  let lab: Lab;
  let staged: StagedScripts | undefined;
  let dir = "";
  let net = "";
  let runs = 0;

  const config = (vrid: number, extra: readonly string[]): string => {
    const file = join(dir, `vrid${vrid}.conf`);
    writeFileSync(
      file,
      [
        "vrrp_instance VI_1 {",
        "    interface eth0",
        `    virtual_router_id ${vrid}`,
        "    priority 100",
        "    advert_int 1",
        ...extra,
        `    virtual_ipaddress { ${net}.${vrid}/24 }`,
        "}",
        "",
      ].join("\n"),
      { mode: 0o644 },
    );
    return file;
  };

  /** `vigil run` in h1 as nobody; `caps`: with the two capabilities, else with none. */
  const vigilAsNobody = (conf: string, caps: boolean, extra: readonly string[] = []): LabProcess => {
    runs++;
    const privs = caps
      ? [`--inh-caps=${NET_CAPS}`, `--ambient-caps=${NET_CAPS}`, `--bounding-set=-all,${NET_CAPS}`]
      : ["--inh-caps=-all", "--bounding-set=-all"];
    return lab.spawn(
      lab.host(1).ns,
      "setpriv",
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        ...privs,
        process.execPath,
        staged?.vigil ?? "",
        "run",
        "-f",
        conf,
        "--journal",
        join(dir, "state", `journal${runs}`),
        "--pid-file",
        join(dir, "state", `vigil${runs}.pid`),
        ...extra,
      ],
      { label: `vigil run as nobody #${runs}` },
    );
  };

  beforeAll(async () => {
    staged = await stageForUser();
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}cap`, hosts: 2 });
    net = `198.18.${lab.subnet}`;
    dir = lab.tempDir();
    // the user's own state directory (StateDirectory= / RuntimeDirectory= in the unit)
    mkdirSync(join(dir, "state"), { mode: 0o700 });
    chownSync(join(dir, "state"), NOBODY, NOBODY);
    chmodSync(dir, 0o755);
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
    staged?.remove();
  });

  it("with only CAP_NET_RAW + CAP_NET_ADMIN: MASTER, VIP added, adverts on the wire", async () => {
    const wire = await lab.tcpdump(lab.host(2), ["-tt"]);
    const vigil = vigilAsNobody(config(81, []), true);
    try {
      await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
      await waitFor("the VIP on h1", async () =>
        (await lab.ipv4Addresses(lab.host(1))).includes(`${net}.81`) ? true : undefined,
      );
      const status = readFileSync(`/proc/${vigil.pid}/status`, "utf8");
      expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
      const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0"}`);
      expect(capEff).toBe(NET_CAPS_MASK);
      await waitFor("two adverts at h2", async () =>
        parseTcpdumpVrrp(wire.stdout).filter((p) => p.vrid === 81 && p.src === lab.host(1).ipv4).length >= 2
          ? true
          : undefined,
      );
      expect(readFileSync(join(dir, "state", `vigil${runs}.pid`), "utf8").trim()).toBe(String(vigil.pid));
    } finally {
      dumpForInspection("capabilities-with", vigil.output);
      await vigil.stop("SIGTERM", 15_000);
      await wire.stop();
    }
    expect(vigil.code).toBe(0);
    // the VIP was removed at shutdown (NET_ADMIN works both ways)
    expect(await lab.ipv4Addresses(lab.host(1))).not.toContain(`${net}.81`);
  }, 60_000);

  it("without capabilities (raw transport): exit 77, one line naming what is missing", async () => {
    const vigil = vigilAsNobody(config(82, []), false);
    expect(await vigil.waitExit(15_000)).toBe(77);
    const lines = vigil.output.split("\n").filter((l) => l.trim() !== "");
    expect(lines.length, vigil.output).toBe(1);
    expect(lines[0]).toMatch(
      /missing capabilities CAP_NET_RAW, CAP_NET_ADMIN \(CAP_NET_RAW for VRRP adverts on raw sockets \(VI_1\); CAP_NET_ADMIN for adding and removing VIPs \(VI_1\)\) - not starting/,
    );
  }, 30_000);

  it("UDP transport without capabilities, VIPs to manage: exit 77 naming NET_ADMIN for VIPs", async () => {
    const vigil = vigilAsNobody(config(83, ["    vigil_transport udp"]), false);
    expect(await vigil.waitExit(15_000)).toBe(77);
    expect(vigil.output).toContain("CAP_NET_ADMIN for adding and removing VIPs (VI_1)");
    expect(vigil.output).toContain("CAP_NET_RAW for gratuitous ARP / NA for VIPs (VI_1)");
    expect(vigil.output).not.toContain("raw sockets");
  }, 30_000);

  it("UDP transport without capabilities under --dry-run: MASTER, adverts on UDP 5112", async () => {
    const wire = await lab.tcpdump(lab.host(2), ["-tt"], "udp port 5112");
    const vigil = vigilAsNobody(config(84, ["    vigil_transport udp"]), false, ["--dry-run"]);
    try {
      await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
      await waitFor("two UDP adverts at h2", async () =>
        (
          wire.stdout.match(
            new RegExp(
              `${lab.host(1).ipv4.replaceAll(".", "\\.")}\\.\\d+ > 224\\.0\\.0\\.18\\.5112: UDP`,
              "g",
            ),
          ) ?? []
        ).length >= 2
          ? true
          : undefined,
      );
      const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${vigil.pid}/status`, "utf8"))?.[1];
      expect(BigInt(`0x${capEff ?? "1"}`)).toBe(0n);
    } finally {
      dumpForInspection("capabilities-udp-dry", `${vigil.output}\n---\n${wire.stdout}`);
      await vigil.stop("SIGTERM", 15_000);
      await wire.stop();
    }
    expect(vigil.code).toBe(0);
  }, 60_000);
});
