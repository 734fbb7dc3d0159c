/**
 * Prints the link probe's view of a namespace's interfaces, for test/netns/trackers-link.test.ts:
 *
 *   trackers-link.ts IF...    prints `initial {"eth0":true,...}` (readLinkStates), then one JSON
 *                             `link` input per line from linkEvents$, and `ready` once subscribed;
 *                             exits 0 on SIGTERM after unsubscribing.
 *
 * Not pure (netlink sockets in the namespace it runs in).
 */
import { linkEvents$, readLinkStates } from "../../../src/trackers/link.probe.ts";

const names = process.argv.slice(2);
const initial = await readLinkStates(names);
console.log(`initial ${JSON.stringify(Object.fromEntries(initial))}`);
const sub = linkEvents$(names).subscribe({
  next: (i) => console.log(JSON.stringify(i)),
  error: (e: unknown) => {
    console.log(`error ${String(e)}`);
    process.exit(1);
  },
});
console.log("ready");
// netlink sockets do not keep the event loop alive
const keepAlive = setTimeout(() => {}, 2 ** 30);
process.on("SIGTERM", () => {
  sub.unsubscribe();
  clearTimeout(keepAlive);
  process.exit(0);
});
