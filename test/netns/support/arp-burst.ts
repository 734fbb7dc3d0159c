/**
 * Test helper run as root inside a lab namespace: drives the real ARP port (src/effects/arp.effect.ts)
 * on a RealClock through a plan of bursts given as JSON in argv[2] (`[{ifname, addresses, repeat,
 * intervalUs}]`, run one after the other) and prints one JSON line per burst (`ok` or the
 * EffectError `code`), then the open descriptor counts before the port was created and after
 * `close()`, and the sockets the port held just before closing.
 */
import { readdirSync } from "node:fs";
import { createArpPort } from "../../../src/effects/arp.effect.ts";
import { EffectError } from "../../../src/runtime/ports.ts";
import { RealClock } from "../../../src/runtime/real-clock.ts";

interface Step {
  readonly ifname: string;
  readonly addresses: readonly string[];
  readonly repeat: number;
  readonly intervalUs: number;
}

const plan = JSON.parse(process.argv[2] ?? "[]") as Step[];
const fds = (): number => readdirSync("/proc/self/fd").length;
const clock = new RealClock();
const fdsBefore = fds();
const port = createArpPort(clock);
for (const [i, s] of plan.entries()) {
  const startUs = clock.nowUs();
  try {
    await port.burst(s.ifname, s.addresses, s.repeat, s.intervalUs);
    console.log(JSON.stringify({ step: i, ok: true, startUs, endUs: clock.nowUs() }));
  } catch (error) {
    const code = error instanceof EffectError ? error.code : `not an EffectError: ${String(error)}`;
    console.log(JSON.stringify({ step: i, ok: false, code, message: (error as Error).message }));
  }
}
const openSockets = port.openSockets;
port.close();
console.log(JSON.stringify({ fdsBefore, fdsAfter: fds(), openSockets }));
