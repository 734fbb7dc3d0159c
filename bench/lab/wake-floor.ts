/**
 * What one wake-up for a datagram costs a process on this machine, before any VRRP work: a C receiver
 * (epoll_wait, then recv until empty) against node receiving with `node:dgram` and doing nothing
 * with the datagram, in the same namespace, fed by a C sender at RATES datagrams a second
 * (198.18.99.1 on the namespace's loopback, port 9999). For each: CPU µs per wake-up of the
 * receiver (scheduler nanoseconds over its voluntary context switches, all threads) over WINDOW_S
 * seconds after 3 s; ROUNDS rounds, the receivers alternated. A floor under every Node daemon that
 * wakes per advert (docs/benchmarks.md, "Seventeenth scale pass"). Needs root and a C compiler (`cc`).
 * `npx tsx bench/lab/wake-floor.ts` (RATES default 250,2500; WINDOW_S 10; ROUNDS 2).
 * Not pure: a namespace, processes and a compiler.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mustRun } from "../../test/support/lab.ts";
import { addNs, inNs, loadAverage, procCpuNs, procSwitches, removeNs, sleepMs, startIn } from "./daemons.ts";

const RATES = (process.env.RATES ?? "250,2500").split(",").map(Number);
const WINDOW_S = Number(process.env.WINDOW_S ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const ADDRESS = "198.18.99.1";

const SENDER = `#include <arpa/inet.h>
#include <stdlib.h>
#include <time.h>
int main(int c, char **v) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(9999);
  inet_pton(AF_INET, "${ADDRESS}", &a.sin_addr);
  struct timespec gap = {0, 1000000000L / atoi(v[1])};
  char b[40] = {0};
  for (;;) {
    sendto(s, b, sizeof b, 0, (void *)&a, sizeof a);
    nanosleep(&gap, 0);
  }
}
`;
const RECEIVER = `#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/epoll.h>
int main(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(9999);
  inet_pton(AF_INET, "${ADDRESS}", &a.sin_addr);
  if (bind(s, (void *)&a, sizeof a) != 0) return 1;
  fcntl(s, F_SETFL, O_NONBLOCK);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  char b[100];
  for (;;) {
    epoll_wait(ep, &ev, 1, 1000);
    while (recv(s, b, sizeof b, 0) > 0) {}
  }
}
`;
const NODE_RECEIVER = `const s = require("node:dgram").createSocket("udp4");
let n = 0;
s.on("message", () => { n++; });
s.bind(9999, "${ADDRESS}");`;

const ns = `vg${process.pid % 1000}wf`;
const dir = mkdtempSync(join(tmpdir(), "vigil-wake-"));
try {
  writeFileSync(join(dir, "send.c"), SENDER);
  writeFileSync(join(dir, "recv.c"), RECEIVER);
  await mustRun("cc", ["-O2", "-o", join(dir, "send"), join(dir, "send.c")]);
  await mustRun("cc", ["-O2", "-o", join(dir, "recv"), join(dir, "recv.c")]);
  await addNs(ns);
  await inNs(ns, "ip", ["addr", "add", `${ADDRESS}/32`, "dev", "lo"]);
  const receivers: readonly (readonly [string, string, readonly string[]])[] = [
    ["C (epoll_wait, recv)", join(dir, "recv"), []],
    ["node:dgram", process.execPath, ["-e", NODE_RECEIVER]],
  ];
  console.log(`wake-up floor, ${WINDOW_S} s windows (load ${loadAverage()})`);
  for (let round = 1; round <= ROUNDS; round++)
    for (const rate of RATES)
      for (const [label, cmd, args] of receivers) {
        const receiver = startIn(ns, label, cmd, args);
        await sleepMs(1_000);
        const sender = startIn(ns, "sender", join(dir, "send"), [String(rate)]);
        try {
          await sleepMs(3_000);
          const pid = receiver.pid as number;
          const [cpu0, sw0] = [procCpuNs(pid), procSwitches(pid)];
          await sleepMs(WINDOW_S * 1000);
          const [cpu1, sw1] = [procCpuNs(pid), procSwitches(pid)];
          const wakes = sw1.mainVol + sw1.otherVol - sw0.mainVol - sw0.otherVol;
          const us = (cpu1 - cpu0) / 1000;
          console.log(
            `round ${round}, ${rate} datagrams/s, ${label}: CPU ${((100 * us) / (WINDOW_S * 1e6)).toFixed(3)} %, ` +
              `${(wakes / WINDOW_S).toFixed(0)} wake-ups/s, ${(us / Math.max(1, wakes)).toFixed(1)} µs per wake-up`,
          );
        } finally {
          await sender.stop("SIGKILL");
          await receiver.stop("SIGKILL");
        }
      }
} finally {
  await removeNs(ns);
  rmSync(dir, { recursive: true, force: true });
}
