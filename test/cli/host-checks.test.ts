/**
 * `vigil check` and the host: interfaces named by the configuration that do not exist here get
 * keepalived's warnings (instance `interface`, `track_interface` of instances and sync groups, a
 * VIP's `dev`, the static addresses', routes' and rules' interfaces), and the check still exits 0. Unit tests inject the host's interfaces; the netns
 * test compares with the real `keepalived -t` in an empty namespace (only `lo`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCheckCommand } from "../../src/cli/check.ts";
import { hostChecks, readHostInterfaces, readInterfaceMtu } from "../../src/cli/host-checks.ts";
import { loadConfig } from "../../src/config/load.ts";
import { fakeEnv } from "../effects/fake-script-env.ts";
import { keepalivedPath, skipUnlessLab } from "../support/env.ts";
import { Lab } from "../support/lab.ts";

const CONF = `global_defs {
  router_id t
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  track_interface {
    eth6
  }
}
vrrp_instance VI_1 {
  interface eth9
  virtual_router_id 51
  priority 100
  track_interface {
    eth8
    eth0
  }
  virtual_ipaddress {
    198.18.0.10/24 dev eth7
    198.18.0.11/24
    198.18.0.12 dev eth0
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    198.18.0.13/24
  }
}
static_ipaddress {
  198.18.0.20/24 dev eth5
  198.18.0.21/24
}
static_routes {
  198.18.9.0/24 dev eth4
}
static_rules {
  from 198.18.9.0/24 table 100 iif eth3 priority 900
}
`;

const EXPECTED = [
  "(G) tracked interface eth6 doesn't exist",
  "WARNING - interface eth9 for vrrp_instance VI_1 doesn't exist",
  "(VI_1) tracked interface eth8 doesn't exist",
  "WARNING - interface eth7 for ip address 198.18.0.10/24 doesn't exist",
  "WARNING - interface eth5 for ip address 198.18.0.20/24 doesn't exist",
  "WARNING - interface eth4 for VROUTE nexthop doesn't exist",
  "WARNING - interface eth3 for rule doesn't exist",
  "Non-existent interface specified in configuration",
];

const dir = mkdtempSync(join(tmpdir(), "vigil-host-"));
const write = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const confFile = write("k.conf", CONF);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dynamicFile = write("d.conf", CONF.replace("router_id t", "router_id t\n  dynamic_interfaces"));

const loaded = (file: string) => {
  const { config } = loadConfig(file, { configId: "x" });
  if (config === undefined) throw new Error("fixture does not load");
  return config;
};

const messages = (file: string, interfaces: ReadonlySet<string> | undefined) =>
  hostChecks(loaded(file), { interfaces }).map((d) => d.message);

describe("host checks (injected interfaces)", () => {
  it("warns about each missing interface as keepalived does", () => {
    expect(messages(confFile, new Set(["lo", "eth0"])).sort()).toEqual([...EXPECTED].sort());
  });
  it("says nothing when every interface exists, when the host is unknown, or with dynamic_interfaces", () => {
    expect(
      messages(confFile, new Set(["lo", "eth0", "eth3", "eth4", "eth5", "eth6", "eth7", "eth8", "eth9"])),
    ).toEqual([]);
    expect(messages(confFile, undefined)).toEqual([]);
    expect(messages(dynamicFile, new Set(["lo"]))).toEqual([]);
  });
  it("a static address without dev whose default_interface is missing: keepalived's own line", () => {
    // eth0 (the default) missing: the line without dev is named, the one with dev eth5 as above
    expect(
      messages(confFile, new Set(["lo", "eth3", "eth4", "eth5", "eth6", "eth7", "eth8", "eth9"])),
    ).toContain("Static address 198.18.0.21/24 requires either an interface or default interface must exist");
  });
  it("gives each warning a line in the file, and only warnings", () => {
    const ds = hostChecks(loaded(confFile), { interfaces: new Set(["lo"]) });
    for (const d of ds) {
      expect(d.severity).toBe("warning");
      expect(d.line).toBeGreaterThan(0);
    }
  });
  it("vigil check prints them and still exits 0", async () => {
    let out = "";
    let err = "";
    const check = makeCheckCommand(() => ({ interfaces: new Set(["lo", "eth0"]) }));
    const code = await check.run([confFile], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
    expect(code).toBe(0);
    for (const m of EXPECTED) expect(err).toContain(m);
    expect(out).toContain(`OK, 2 vrrp_instance(s)`);
    // plus the front end's "'router_id' is parsed but not acted on" warning
    expect(err).toContain("'router_id' is parsed but not acted on by Vigil yet");
    expect(out).toContain(`${EXPECTED.length + 1} warning(s)`);
  });
  it("reports the scripts this host would refuse, as the notify actor would", () => {
    const file = write(
      "s.conf",
      [
        "global_defs {\n  enable_script_security\n  script_user root\n}",
        "vrrp_instance VI_1 {",
        "  interface eth0\n  virtual_router_id 1\n  priority 100\n  virtual_ipaddress { 198.18.0.1 }",
        "  notify_master /etc/ka/master.sh\n  notify_backup /etc/ka/backup.sh\n  notify_fault /tmp/x/fault.sh",
        "}",
      ].join("\n"),
    );
    const scripts = fakeEnv(
      {
        "/etc": { type: "dir" },
        "/etc/ka": { type: "dir" },
        "/etc/ka/master.sh": { type: "file", perm: 0o755 },
        "/tmp": { type: "dir", perm: 0o1777 },
        "/tmp/x": { type: "dir", perm: 0o777 },
        "/tmp/x/fault.sh": { type: "file", perm: 0o755 },
      },
      { users: { root: { uid: 0, gid: 0 } } },
    );
    const ds = hostChecks(loaded(file), { interfaces: new Set(["lo", "eth0"]), scripts });
    const text = ds.map((d) => d.message);
    expect(text.some((m) => m.includes("/etc/ka/backup.sh") && m.includes("cannot be accessed"))).toBe(true);
    expect(text).toContain("Unsafe permissions found for script '/tmp/x/fault.sh' - disabling.");
    expect(text.some((m) => m.includes("master.sh"))).toBe(false);
    for (const d of ds) expect(d.severity).toBe("warning");
  });
  it("vigil check sizes adverts by the host's MTU, as keepalived (100 IPv6 VIPs, MTU 1400 → 83)", async () => {
    const vips = Array.from({ length: 100 }, (_, i) => `    2001:db8::${(i + 1).toString(16)}/64`);
    const file = write(
      "mtu.conf",
      [
        "vrrp_instance VI_6 {",
        "  interface eth9",
        "  virtual_router_id 6",
        "  virtual_ipaddress {",
        ...vips,
        "  }",
        "}",
      ].join("\n"),
    );
    const checkWith = async (mtu: number | undefined): Promise<string> => {
      let err = "";
      const check = makeCheckCommand(() => ({ interfaces: new Set(["lo", "eth9"]), mtu: () => mtu }));
      expect(await check.run([file], { stdout: () => {}, stderr: (t) => (err += t) })).toBe(0);
      return err;
    };
    expect(await checkWith(1400)).toContain(
      "Number of VIPs (100) exceeds maximum/space available in packet (max 83 addresses)",
    );
    expect(await checkWith(undefined)).toContain("(max 89 addresses)");
    expect(readInterfaceMtu("lo")).toBeGreaterThan(0);
    expect(readInterfaceMtu("../lo")).toBeUndefined();
  });
  it("reports check scripts that exist here without enable_script_security, as keepalived's checker", () => {
    const lvs = (security: string, script: string) =>
      write(
        `lvs-${security === "" ? "open" : "secure"}-${script.length}.conf`,
        [
          `global_defs {\n  router_id t\n${security}}`,
          "virtual_server 198.18.0.50 80 {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP",
          `  real_server 198.18.0.51 80 {\n    notify_up ${script}\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}`,
        ].join("\n"),
      );
    const scripts = fakeEnv({
      "/usr": { type: "dir" },
      "/usr/bin": { type: "dir" },
      "/usr/bin/up": { type: "file" },
    });
    const check = (file: string) =>
      hostChecks(loaded(file), { interfaces: undefined, scripts }).map((d) => d.message);
    const violation =
      "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.";
    expect(check(lvs("", "/usr/bin/up"))).toContain(violation);
    expect(check(lvs("", "/usr/bin/absent"))).not.toContain(violation);
    expect(check(lvs("  enable_script_security\n", "/usr/bin/up"))).not.toContain(violation);
  });
  it("reads the current namespace's interfaces (lo is always there)", () => {
    expect(readHostInterfaces()?.has("lo")).toBe(true);
    expect(readHostInterfaces("/nonexistent/a", "/nonexistent/b")).toBeUndefined();
  });
});

const suite = "netns: vigil check warns about missing interfaces like keepalived -t";
describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true }))(suite, () => {
  let lab: Lab;
  let keepalived = "";
  let vigil = "";
  let vigilCode: number | null | undefined;

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}hc`, hosts: 1 });
    const ns = lab.host(1).ns;
    // keepalived's and Vigil's view of the same namespace: eth0 exists (the lab's), eth6-eth9 do not.
    const ka = lab.spawn(ns, keepalivedPath ?? "keepalived", ["-t", "-f", confFile, "-l", "-D", "-n"]);
    await ka.waitExit(20_000);
    keepalived = ka.output;
    const v = lab.spawn(ns, process.execPath, [
      join(import.meta.dirname, "..", "..", "bin", "vigil.js"),
      "check",
      confFile,
    ]);
    vigilCode = await v.waitExit(20_000);
    vigil = v.stderr;
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("prints keepalived's interface messages, and exits 0", () => {
    const interfaceLines = (text: string) =>
      [
        ...new Set(
          text
            .split("\n")
            .map((l) => l.replace(/^\([^)]*: Line \d+\) /, "").replace(/ \[warning.*$/, ""))
            .filter((l) => /doesn't exist|^Non-existent interface/.test(l)),
        ),
      ].sort();
    expect(interfaceLines(keepalived)).toEqual([...EXPECTED].sort());
    expect(interfaceLines(vigil)).toEqual(interfaceLines(keepalived));
    expect(vigilCode).toBe(0);
  });
});
