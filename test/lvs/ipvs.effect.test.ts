/**
 * IPVS text and the IPVS effect: ipvsadm lines for TCP/UDP/SCTP, IPv6, fwmark, persistence,
 * NAT/DR/TUN, weights and the sorry server, from parsed configurations; one `ipvsadm -R` batch per
 * step, in order; a kernel without IPVS logs one clear line and only records; ipvsadm's refusal
 * is logged with its own message; a missing binary turns the port into a recorder. The real
 * ipvsadm (when installed) shows it cannot check text without the kernel module.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { VirtualServer } from "../../src/config/types.ts";
import { createIpvsPort } from "../../src/lvs/ipvs.effect.ts";
import { ipvsLine } from "../../src/lvs/ipvsadm.ts";
import { vsName } from "../../src/lvs/spec.ts";

const dir = mkdtempSync(join(tmpdir(), "vigil-ipvs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parseVirtualServers(body: string): VirtualServer[] {
  const file = join(dir, `k${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, body);
  const { runnable, diagnostics } = loadConfig(file, { configId: "lb1" });
  if (runnable === undefined) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return [...runnable.virtualServers];
}

const add = { type: "ipvs", op: "addService" } as const;
const del = { type: "ipvs", op: "delService" } as const;
const dest = (op: "addDest" | "editDest" | "delDest", rs: number, weight = 1) =>
  ({ type: "ipvs", op, rs, weight }) as const;

describe("ipvsadm lines", () => {
  test("TCP NAT with persistence, a DR real server with its own port, a sorry server", () => {
    const [vs] = parseVirtualServers(`
virtual_server 198.18.0.100 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  persistence_timeout 300
  sorry_server 198.18.0.99 8080
  real_server 198.18.0.11 8080 {
    weight 3
  }
  real_server 198.18.0.12 {
    lvs_method DR
  }
}`) as [VirtualServer];
    expect(vsName(vs)).toBe("[198.18.0.100]:tcp:80");
    expect(ipvsLine(vs, add)).toBe("-A -t 198.18.0.100:80 -s rr -p 300");
    expect(ipvsLine(vs, dest("addDest", 0, 3))).toBe("-a -t 198.18.0.100:80 -r 198.18.0.11:8080 -m -w 3");
    expect(ipvsLine(vs, dest("editDest", 1, 0))).toBe("-e -t 198.18.0.100:80 -r 198.18.0.12:80 -g -w 0");
    expect(ipvsLine(vs, dest("delDest", 1))).toBe("-d -t 198.18.0.100:80 -r 198.18.0.12:80");
    expect(ipvsLine(vs, dest("addDest", -1))).toBe("-a -t 198.18.0.100:80 -r 198.18.0.99:8080 -m -w 1");
    expect(ipvsLine(vs, del)).toBe("-D -t 198.18.0.100:80");
    expect(ipvsLine(vs, dest("addDest", 7))).toBeUndefined();
  });

  test("UDP, SCTP, IPv6, TUN, fwmark, and a group (one line per group service)", () => {
    const vss = parseVirtualServers(`
virtual_server_group G1 {
  198.18.0.1-2 80
}
virtual_server 198.18.0.100 53 {
  protocol UDP
  lvs_method TUN
  real_server 198.18.0.11 53 {
  }
}
virtual_server 198.18.0.100 3868 {
  protocol SCTP
  real_server 198.18.0.11 3868 {
  }
}
virtual_server 2001:db8::100 443 {
  protocol TCP
  lvs_sched wlc
  real_server 2001:db8::11 443 {
    weight 2
  }
}
virtual_server fwmark 7 {
  lvs_sched sh
  real_server 198.18.0.11 {
  }
}
virtual_server group G1 {
  protocol TCP
  real_server 198.18.0.11 80 {
  }
}`);
    const [udp, sctp, v6, fw, group] = vss as [
      VirtualServer,
      VirtualServer,
      VirtualServer,
      VirtualServer,
      VirtualServer,
    ];
    expect(ipvsLine(udp, add)).toBe("-A -u 198.18.0.100:53 -s wlc");
    expect(ipvsLine(udp, dest("addDest", 0))).toBe("-a -u 198.18.0.100:53 -r 198.18.0.11:53 -i -w 1");
    expect(ipvsLine(sctp, add)).toBe("-A --sctp-service 198.18.0.100:3868 -s wlc");
    expect(vsName(v6)).toBe("[2001:db8::100]:tcp:443");
    expect(ipvsLine(v6, add)).toBe("-A -t [2001:db8::100]:443 -s wlc");
    expect(ipvsLine(v6, dest("addDest", 0, 2))).toBe(
      "-a -t [2001:db8::100]:443 -r [2001:db8::11]:443 -m -w 2",
    );
    expect(vsName(fw)).toBe("FWM 7");
    expect(ipvsLine(fw, add)).toBe("-A -f 7 -s sh");
    expect(ipvsLine(fw, dest("addDest", 0))).toBe("-a -f 7 -r 198.18.0.11 -m -w 1");
    expect(ipvsLine(group, add)).toBe("-A -t 198.18.0.1:80 -s wlc\n-A -t 198.18.0.2:80 -s wlc");
  });
});

describe("IPVS effect", () => {
  const [vs] = parseVirtualServers(`
virtual_server 198.18.0.100 80 {
  protocol TCP
  real_server 198.18.0.11 80 {
    TCP_CHECK {
    }
  }
}`) as [VirtualServer];

  test("no IPVS in the kernel: one clear line, lines recorded, nothing run", async () => {
    const lines: string[] = [];
    let runs = 0;
    const port = createIpvsPort({
      virtualServers: [vs],
      log: (l) => lines.push(l),
      procPath: join(dir, "no-such-ip_vs"),
      run: async () => {
        runs++;
        return { status: 0, stderr: "" };
      },
    });
    port.apply(0, [add, dest("addDest", 0)]);
    await port.idle();
    expect(port.live).toBe(false);
    expect(runs).toBe(0);
    expect(port.recorded).toEqual([
      "-A -t 198.18.0.100:80 -s wlc",
      "-a -t 198.18.0.100:80 -r 198.18.0.11:80 -m -w 1",
    ]);
    expect(lines).toEqual([
      `IPVS: Can't initialize ipvs: no ${join(dir, "no-such-ip_vs")} (this kernel has no ip_vs module); health checkers keep running, IPVS changes are only recorded`,
    ]);
  });

  test("with IPVS: one ipvsadm -R batch per step, in order; a refusal is logged; a group's services in one batch", async () => {
    const proc = join(dir, "ip_vs");
    writeFileSync(proc, "");
    const batches: string[] = [];
    const lines: string[] = [];
    const errors: string[] = [];
    const port = createIpvsPort({
      virtualServers: [
        vs,
        parseVirtualServers(
          `virtual_server_group G1 {
  198.18.0.1-2 80
}
virtual_server group G1 {
  protocol TCP
  real_server 198.18.0.11 80 {
  }
}`,
        )[0] as VirtualServer,
      ],
      log: (l) => lines.push(l),
      procPath: proc,
      onError: (_vs, _l, m) => errors.push(m),
      run: async (argv, stdin) => {
        await new Promise((r) => setTimeout(r, batches.length === 0 ? 20 : 0)); // a slow first batch
        batches.push(`${argv.join(" ")}|${stdin}`);
        return stdin.includes("-d ")
          ? { status: 2, stderr: "Memory allocation problem\n" }
          : { status: 0, stderr: "" };
      },
    });
    port.apply(0, [add, dest("addDest", 0)]);
    port.apply(0, [dest("delDest", 0)]);
    port.apply(1, [add]);
    port.apply(1, [add]);
    await port.idle();
    expect(batches).toEqual([
      "ipvsadm -R|-A -t 198.18.0.100:80 -s wlc\n-a -t 198.18.0.100:80 -r 198.18.0.11:80 -m -w 1\n",
      "ipvsadm -R|-d -t 198.18.0.100:80 -r 198.18.0.11:80\n",
      "ipvsadm -R|-A -t 198.18.0.1:80 -s wlc\n-A -t 198.18.0.2:80 -s wlc\n",
      "ipvsadm -R|-A -t 198.18.0.1:80 -s wlc\n-A -t 198.18.0.2:80 -s wlc\n",
    ]);
    expect(errors).toEqual(["Memory allocation problem"]);
    expect(lines).toEqual(["IPVS: Memory allocation problem"]);
  });

  test("a missing ipvsadm binary: said once, then recording only", async () => {
    const proc = join(dir, "ip_vs2");
    writeFileSync(proc, "");
    const lines: string[] = [];
    const port = createIpvsPort({
      virtualServers: [vs],
      log: (l) => lines.push(l),
      procPath: proc,
      ipvsadm: join(dir, "no-ipvsadm"),
    });
    port.apply(0, [add]);
    port.apply(0, [del]);
    await port.idle();
    expect(port.live).toBe(false);
    expect(lines).toEqual([
      `IPVS: ${join(dir, "no-ipvsadm")} not found - IPVS changes are only recorded from now on`,
    ]);
    expect(port.recorded).toEqual(["-A -t 198.18.0.100:80 -s wlc", "-D -t 198.18.0.100:80"]);
  });

  const hasIpvsadm = (() => {
    try {
      execFileSync("sh", ["-c", "command -v ipvsadm"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  test.skipIf(!hasIpvsadm)(
    "the real ipvsadm -R on a kernel without IPVS: its message is logged (install ipvsadm to run)",
    async () => {
      const proc = join(dir, "ip_vs3");
      writeFileSync(proc, "");
      const lines: string[] = [];
      const port = createIpvsPort({ virtualServers: [vs], log: (l) => lines.push(l), procPath: proc });
      port.apply(0, [add]);
      await port.idle();
      expect(lines).toEqual(["IPVS: Can't initialize ipvs: Protocol not available"]);
    },
  );
});
