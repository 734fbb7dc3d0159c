/**
 * Shows that the ipvsadm text Vigil writes is accepted by ipvsadm's own parser, on a kernel without
 * IPVS (where the real `ipvsadm` stops at "Can't initialize ipvs" before parsing). It builds
 * ipvsadm 1.31's ipvsadm.c (Debian bookworm's version) against `recording-libipvs.c` — a libipvs that
 * prints each call instead of sending it — and `popt.h` (libpopt's ABI, for hosts without
 * libpopt-dev), then feeds it, one `ipvsadm -R` run per line, every operation Vigil can emit for each
 * virtual server of the LVS fixtures and of the files named on the command line: add/delete service,
 * add/edit/delete of every real server and of the sorry server.
 *
 * Not part of the test suite: ipvsadm's source is not in this repository. Point VIGIL_IPVSADM_SRC at
 * an unpacked ipvsadm-1.31 (`apt-get source ipvsadm` with deb-src enabled, or the upstream
 * ipvsadm-1.31.tar.gz), then: `npx tsx test/support/ipvsadm-parse/check.ts [FILE.conf ...]`.
 * Prints each line with what the parser made of it; exits 1 if any line is refused. Not pure.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../../src/config/load.ts";
import type { VirtualServer } from "../../../src/config/types.ts";
import { type IpvsOp, ipvsLines } from "../../../src/lvs/ipvsadm.ts";

const here = dirname(fileURLToPath(import.meta.url));
const src = process.env.VIGIL_IPVSADM_SRC;
if (src === undefined || !existsSync(join(src, "ipvsadm.c"))) {
  console.error("set VIGIL_IPVSADM_SRC to an unpacked ipvsadm-1.31 source tree (with ipvsadm.c)");
  process.exit(2);
}
const popt = ["/usr/lib/x86_64-linux-gnu/libpopt.so.0", "/usr/lib/libpopt.so.0"].find((p) => existsSync(p));
if (popt === undefined) {
  console.error("libpopt.so.0 not found (Debian: libpopt0)");
  process.exit(2);
}

/** Builds the recording ipvsadm; returns its path (in `out`). */
function build(out: string): string {
  const bin = join(out, "ipvsadm-parse");
  execFileSync("gcc", [
    "-O0",
    "-w",
    '-DVERSION="1.31"',
    '-DSCHEDULERS="rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh"',
    '-DPE_LIST="sip"',
    "-DHAVE_NET_IP_VS_H",
    `-I${here}`,
    `-I${src}`,
    `-I${join(src as string, "libipvs")}`,
    "-o",
    bin,
    join(src as string, "ipvsadm.c"),
    join(src as string, "config_stream.c"),
    join(src as string, "dynamic_array.c"),
    join(here, "recording-libipvs.c"),
    popt as string,
  ]);
  return bin;
}

/** Every operation Vigil can emit for a virtual server. */
function allOps(vs: VirtualServer): IpvsOp[] {
  const ops: IpvsOp[] = [{ type: "ipvs", op: "addService" }];
  const targets = [...vs.realServers.keys(), ...(vs.sorryServer === null ? [] : [-1])];
  for (const rs of targets)
    for (const op of ["addDest", "editDest", "delDest"] as const)
      ops.push({ type: "ipvs", op, rs, weight: 3 });
  ops.push({ type: "ipvs", op: "delService" });
  return ops;
}

const root = join(here, "../../..");
const fixtures = readdirSync(join(root, "test/config/fixtures/valid"))
  .filter((f) => f.endsWith(".conf") && /lvs|checker/.test(f))
  .map((f) => join(root, "test/config/fixtures/valid", f));
const files = [
  ...fixtures,
  join(root, "examples/keepalived.conf"),
  join(here, "coverage.conf"),
  ...process.argv.slice(2),
];

const out = mkdtempSync(join(tmpdir(), "vigil-ipvsadm-parse-"));
let refused = 0;
let accepted = 0;
try {
  const bin = build(out);
  for (const file of files) {
    const { runnable } = loadConfig(file, { configId: "lb1" });
    if (runnable === undefined) {
      console.log(`# ${file}: not runnable, skipped`);
      continue;
    }
    console.log(`# ${file}`);
    for (const vs of runnable.virtualServers)
      for (const op of allOps(vs))
        for (const line of ipvsLines(vs, op)) {
          const r = spawnSync(bin, ["-R"], { input: `${line}\n`, encoding: "utf8" });
          if (r.status === 0) accepted++;
          else refused++;
          console.log(
            `${r.status === 0 ? "ok " : "NO "} ${line}\n      ${(r.status === 0 ? r.stdout : r.stderr).trim()}`,
          );
        }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(`${accepted} lines accepted, ${refused} refused by ipvsadm 1.31's parser`);
process.exit(refused === 0 ? 0 : 1);
