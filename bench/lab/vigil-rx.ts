/**
 * Lab helper for bench/runtime-vs-keepalived.bench.ts, run as root inside the receiver namespace:
 * one Vigil `Node` (real clock, raw IPv4 multicast transports, in-memory counting journal, null
 * ports) with PER_IF BACKUP instances (VRIDs 1..PER_IF, priority 100, advert_int 255 s) on each
 * given interface. Prints `ready` once listening; on SIGUSR1 prints `{"cpuUs":…,"rcvd":…}` (process CPU time and adverts
 * received by the instances so far); exits on SIGTERM. argv: PER_IF IFNAME:VIPNET… Not pure.
 */
import { merge } from "rxjs";
import type { Journal } from "../../src/runtime/journal.ts";
import { Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { RealClock } from "../../src/runtime/real-clock.ts";
import { instanceDefaults, type NodeSpec } from "../../src/runtime/spec.ts";
import { interfaceAddress, RawTransportPool } from "../../transports/raw.transport.ts";
import type { Transport } from "../../transports/transport.ts";

const [perIfText = "250", ...ifs] = process.argv.slice(2);
const perIf = Number(perIfText);
const clock = new RealClock();
const pool = new RawTransportPool(clock);
const views = new Map<string, Transport>();
const instances: NodeSpec["instances"][number][] = [];
for (const spec of ifs) {
  const [ifname = "", vipNet = ""] = spec.split(":");
  const ownIp = interfaceAddress(ifname, 4) ?? "";
  for (let vrid = 1; vrid <= perIf; vrid++) {
    views.set(`${ifname}/${vrid}`, pool.open({ vrid, ifname, family: 4, mode: "multicast" }));
    instances.push({
      params: instanceDefaults({
        name: `VI_${ifname}_${vrid}`,
        vrid,
        ifname,
        ownIp,
        vips: [`${vipNet}.${vrid}`],
        advertIntervalCs: 25_500,
      }),
      tracking: [],
      unicastPeers: [],
    });
  }
}
const transport: Transport = {
  inbound$: merge(...[...views.values()].map((v) => v.inbound$)),
  send: (out) => views.get(`${out.ifname}/${out.vrid}`)?.send(out),
  close: () => pool.close(),
};
const journal: Journal & { lines: number } = {
  lines: 0,
  append() {
    this.lines++;
  },
  close() {},
};
const node = new Node(
  { instances, groups: [], trackers: [] },
  { clock, ports: nullPorts(), journal, transport },
);
node.start();
const rcvd = (): number => instances.reduce((n, s) => n + (node.stats(s.params.name)?.advert_rcvd ?? 0), 0);
process.on("SIGUSR1", () => {
  const u = process.cpuUsage();
  console.log(
    JSON.stringify({ cpuUs: u.user + u.system, sysUs: u.system, rcvd: rcvd(), journalLines: journal.lines }),
  );
});
process.on("SIGTERM", () => {
  node.close();
  pool.close();
  process.exit(0);
});
console.log("ready");
setInterval(() => {}, 1 << 30);
