/**
 * IPVS text for `virtual_server group` (one service per group entry, every range address, address
 * entries before fwmark entries, keepalived's destination ports per forwarding method, IPv6 ranges
 * stepping the last group only), for `-M` (IPv4 netmask, IPv6 prefix length), `--pe`, `-o` and `-b`;
 * the checker machines' specs from inherited settings; and one run through `createLvs` and a Node
 * in which every group service is programmed at start and deleted at shutdown.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Config, VirtualServer } from "../../src/config/types.ts";
import { createProcessRunner } from "../../src/effects/process-runner.ts";
import { nodeScriptEnv } from "../../src/effects/script-env.ts";
import { ipvsLines, serviceSelectors } from "../../src/lvs/ipvsadm.ts";
import { createLvs } from "../../src/lvs/lvs.service.ts";
import { virtualServerSpec, vsName } from "../../src/lvs/spec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { nodeFromConfig } from "../../src/runtime/config.adapter.ts";
import { MemoryJournal } from "../../src/runtime/journal.ts";
import { nullPorts } from "../../src/runtime/ports.ts";

const dir = mkdtempSync(join(tmpdir(), "vigil-ipvsg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function load(body: string): Config {
  const file = join(dir, `k${n++}.conf`);
  writeFileSync(file, body);
  const { runnable, diagnostics } = loadConfig(file, { configId: "lb1" });
  if (runnable === undefined) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return runnable;
}

const add = { type: "ipvs", op: "addService" } as const;
const del = { type: "ipvs", op: "delService" } as const;
const dest = (op: "addDest" | "editDest" | "delDest", rs: number, weight = 1) =>
  ({ type: "ipvs", op, rs, weight }) as const;

const GROUP_CONF = `virtual_server_group G {
  198.18.0.1-3 80
  fwmark 7
  198.18.1.0/31 443
  198.18.2.9 0
}
virtual_server group G {
  protocol TCP
  lvs_sched rr
  persistence_timeout 30
  real_server 198.18.0.11 8080 {
    weight 2
  }
  real_server 198.18.0.12 {
    lvs_method DR
  }
  real_server 198.18.0.13 {
  }
}
`;

describe("ipvsadm lines for a group", () => {
  test("one service per entry address, fwmarks last; NAT keeps its port (0 when none), DR takes the entry's", () => {
    const [vs] = load(GROUP_CONF).virtualServers as [VirtualServer];
    expect(vsName(vs)).toBe("[G]:0");
    expect(serviceSelectors(vs)).toEqual([
      "-t 198.18.0.1:80",
      "-t 198.18.0.2:80",
      "-t 198.18.0.3:80",
      "-t 198.18.1.0:443",
      "-t 198.18.1.1:443",
      "-t 198.18.2.9:0",
      "-f 7",
    ]);
    expect(ipvsLines(vs, add)).toEqual(serviceSelectors(vs).map((s) => `-A ${s} -s rr -p 30`));
    expect(ipvsLines(vs, dest("addDest", 0, 2))).toEqual(
      serviceSelectors(vs).map((s) => `-a ${s} -r 198.18.0.11:8080 -m -w 2`),
    );
    expect(ipvsLines(vs, dest("editDest", 1, 0))).toEqual([
      "-e -t 198.18.0.1:80 -r 198.18.0.12:80 -g -w 0",
      "-e -t 198.18.0.2:80 -r 198.18.0.12:80 -g -w 0",
      "-e -t 198.18.0.3:80 -r 198.18.0.12:80 -g -w 0",
      "-e -t 198.18.1.0:443 -r 198.18.0.12:443 -g -w 0",
      "-e -t 198.18.1.1:443 -r 198.18.0.12:443 -g -w 0",
      "-e -t 198.18.2.9:0 -r 198.18.0.12:0 -g -w 0",
      "-e -f 7 -r 198.18.0.12 -g -w 0",
    ]);
    expect(ipvsLines(vs, dest("delDest", 2))).toEqual([
      "-d -t 198.18.0.1:80 -r 198.18.0.13:0",
      "-d -t 198.18.0.2:80 -r 198.18.0.13:0",
      "-d -t 198.18.0.3:80 -r 198.18.0.13:0",
      "-d -t 198.18.1.0:443 -r 198.18.0.13:0",
      "-d -t 198.18.1.1:443 -r 198.18.0.13:0",
      "-d -t 198.18.2.9:0 -r 198.18.0.13:0",
      "-d -f 7 -r 198.18.0.13",
    ]);
    expect(ipvsLines(vs, del)).toEqual(serviceSelectors(vs).map((s) => `-D ${s}`));
    expect(ipvsLines(vs, dest("addDest", 9))).toEqual([]);
  });

  test("IPv6: the last group steps (wrapping as keepalived's 16-bit counter does); fwmarks take the group's family", () => {
    const cfg = load(`virtual_server_group G6 {
  2001:db8::fffe-ffff 80
  2001:db8::1:fffe-2001:db8::2:1 53
  fwmark 9
}
virtual_server_group F {
  fwmark 10 inet6
  fwmark 12
}
virtual_server_group U {
  fwmark 13
}
virtual_server group G6 {
  protocol UDP
  real_server 2001:db8::11 53 {
  }
}
virtual_server group F {
  lvs_method TUN
  real_server 2001:db8::12 {
  }
}
virtual_server group U {
  lvs_method TUN
  real_server 2001:db8::12 {
  }
}
`);
    const [g6, f, u] = cfg.virtualServers as [VirtualServer, VirtualServer, VirtualServer];
    expect(ipvsLines(g6, add)).toEqual([
      "-A -u [2001:db8::fffe]:80 -s wlc",
      "-A -u [2001:db8::ffff]:80 -s wlc",
      "-A -u [2001:db8::1:fffe]:53 -s wlc",
      "-A -u [2001:db8::1:ffff]:53 -s wlc",
      "-A -u [2001:db8::1:0]:53 -s wlc",
      "-A -u [2001:db8::1:1]:53 -s wlc",
      "-A -f 9 -6 -s wlc",
    ]);
    expect(ipvsLines(g6, dest("addDest", 0)).at(0)).toBe(
      "-a -u [2001:db8::fffe]:80 -r [2001:db8::11]:53 -m -w 1",
    );
    // a tunnelled real server does not set the family: F takes its group's (IPv6 only); U has
    // none, so IPv4 (keepalived's default, said at link time)
    expect([f.family, u.family]).toEqual(["ipv6", null]);
    expect([...ipvsLines(f, dest("addDest", 0)), ...ipvsLines(u, dest("addDest", 0))]).toEqual([
      "-a -f 10 -6 -r 2001:db8::12 -i -w 1",
      "-a -f 12 -6 -r 2001:db8::12 -i -w 1",
      "-a -f 13 -r 2001:db8::12 -i -w 1",
    ]);
  });
});

describe("service options", () => {
  test("-M as an IPv4 netmask or an IPv6 prefix length, --pe, -o, -b, -x/-y; not -M on a group", () => {
    const vss = load(`virtual_server 198.18.0.100 80 {
  protocol TCP
  lvs_sched sh
  sh-fallback
  sh-port
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  persistence_engine sip
  real_server 198.18.0.11 80 {
  }
}
virtual_server 2001:db8::1 53 {
  protocol UDP
  ops
  flag-3
  persistence_granularity 64
  real_server 2001:db8::11 53 {
  }
}
virtual_server fwmark 5 {
  persistence_granularity 96
  real_server 2001:db8::11 53 {
  }
}
virtual_server_group G {
  198.18.0.1 80
}
virtual_server group G {
  protocol TCP
  persistence_granularity 255.255.0.0
  real_server 198.18.0.11 80 {
  }
}
virtual_server 198.18.0.100 443 {
  protocol TCP
  persistence_engine sip
  real_server 198.18.0.11 443 {
    uthreshold 100
    lthreshold 10
  }
}
`).virtualServers;
    expect(ipvsLines(vss[4] as VirtualServer, dest("editDest", 0, 5))).toEqual([
      "-e -t 198.18.0.100:443 -r 198.18.0.11:443 -m -w 5 -x 100 -y 10",
    ]);
    expect(vss.map((v) => ipvsLines(v, add)[0])).toEqual([
      "-A -t 198.18.0.100:80 -s sh -p 300 -M 255.255.255.0 --pe sip -b flag-1,flag-2",
      "-A -u [2001:db8::1]:53 -s wlc -p 360 -M 64 -o -b flag-3",
      "-A -f 5 -6 -s wlc -p 360 -M 96",
      "-A -t 198.18.0.1:80 -s wlc -p 360",
      // the persistence engine goes with persistence only (ipvs_set_srule)
      "-A -t 198.18.0.100:443 -s wlc",
    ]);
  });
});

describe("checker specs from inherited settings", () => {
  test("alpha, warmup, retry and timing reach the machine per checker; the group's member names the service", () => {
    const cfg = load(`virtual_server_group G {
  198.18.0.1 80
}
virtual_server group G {
  protocol TCP
  real_server 198.18.0.11 80 {
    TCP_CHECK {
    }
  }
}
virtual_server group G {
  protocol UDP
  alpha
  warmup 2
  delay_loop 9
  inhibit_on_failure
  real_server 198.18.0.11 80 {
    alpha off
    retry 4
    inhibit_on_failure off
    TCP_CHECK {
    }
    TCP_CHECK {
      alpha
      warmup 0
    }
  }
  real_server 198.18.0.12 80 {
    TCP_CHECK {
    }
  }
}
`);
    const [a, b] = cfg.virtualServers.map(virtualServerSpec) as [
      ReturnType<typeof virtualServerSpec>,
      ReturnType<typeof virtualServerSpec>,
    ];
    expect([a.name, b.name]).toEqual(["[G]:0", "[G]:1"]);
    const pick = (s: typeof b) =>
      s.realServers.map((r) => [
        r.inhibit,
        r.checkers.map((c) => [c.alpha, c.warmupUs, c.retry, c.delayLoopUs]),
      ]);
    expect(pick(a)).toEqual([[false, [[false, 60_000_000, 1, 60_000_000]]]]);
    expect(pick(b)).toEqual([
      [
        false,
        [
          [false, 2_000_000, 4, 9_000_000],
          [true, 0, 4, 9_000_000],
        ],
      ],
      [true, [[true, 2_000_000, 1, 9_000_000]]],
    ]);
  });
});

describe("createLvs with a Node", () => {
  test("every group service is added with its real servers at start and deleted at shutdown", async () => {
    const cfg = load(GROUP_CONF);
    const proc = join(dir, "ip_vs");
    writeFileSync(proc, "");
    const batches: string[] = [];
    const lines: string[] = [];
    const clock = new VirtualClock();
    const lvs = createLvs({
      config: cfg,
      clock,
      runner: createProcessRunner(),
      scriptEnv: nodeScriptEnv(),
      log: (l) => lines.push(l),
      procPath: proc,
      ipvsRun: async (argv, stdin) => {
        batches.push(`${argv.join(" ")}\n${stdin}`);
        return { status: 0, stderr: "" };
      },
    });
    const node = nodeFromConfig(
      cfg,
      { clock, ports: nullPorts(), journal: new MemoryJournal(), checks: lvs.checks },
      { lvs: true },
    );
    node.start();
    await lvs.idle();
    const [vs] = cfg.virtualServers as [VirtualServer];
    const selectors = serviceSelectors(vs);
    expect(selectors).toHaveLength(7);
    const started = lvs.ipvs.recorded.slice();
    for (const s of selectors) {
      expect(started).toContain(`-A ${s} -s rr -p 30`);
      for (const r of ["198.18.0.11", "198.18.0.12", "198.18.0.13"])
        expect(started.filter((l) => l.startsWith(`-a ${s} -r ${r}`))).toHaveLength(1);
    }
    node.shutdown();
    await node.settled();
    await lvs.idle();
    const stopped = lvs.ipvs.recorded.slice(started.length);
    for (const s of selectors) expect(stopped).toContain(`-D ${s}`);
    expect(stopped.at(-1)).toBe("-D -f 7");
    // every recorded line went to ipvsadm -R, in the same order
    expect(batches.flatMap((b) => b.split("\n").slice(1, -1))).toEqual(lvs.ipvs.recorded);
    expect(batches.every((b) => b.startsWith("ipvsadm -R\n"))).toBe(true);
    expect(lines.filter((l) => l.startsWith("IPVS"))).toEqual([]);
    node.close();
  });
});
