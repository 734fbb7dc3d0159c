/**
 * One line of text for each kind of output a Node emits, as the status server's event summaries
 * (`/events`, the dashboard) and `vigil replay`'s timeline show them. Pure.
 */
import type { Output } from "./node.ts";

/** One line per output, every kind spelled out. */
export function describeOutput(o: Output): string {
  switch (o.type) {
    case "state":
      return `${o.actor} ${o.from} -> ${o.to}`;
    case "sendAdvert":
      return `advert ${o.instance} priority ${o.priority}`;
    case "addVips":
    case "removeVips":
      return `${o.type} ${o.instance} ${o.vips.join(" ")}`;
    case "addRoutes":
    case "removeRoutes":
      return `${o.type} ${o.instance} ${[...o.routes, ...o.rules].map((r) => `[${r}]`).join(" ")}`;
    case "garp":
      return `garp ${o.instance} ${o.reason} x${o.repeat}`;
    case "notify":
      return `notify ${o.scope} ${o.name} ${o.state} ${o.priority}`;
    case "fifo":
      return `fifo ${o.line}`;
    case "log":
      return `log ${o.line}`;
    case "memberReport":
      return `memberReport ${o.group} ${o.instance} ${o.state}`;
    case "syncMember":
      return `syncMember ${o.instance} ${o.state}`;
    case "trackerChanged":
      return `trackerChanged ${o.tracker} ${o.ok ? "ok" : "failed"}`;
    case "shiftTimer":
      return `shiftTimer ${o.instance} ${o.timer} ${o.deltaUs}us`;
    case "ipvs":
      return `ipvs ${o.vs} ${o.ops.map((op) => ("rs" in op ? `${op.op} rs${op.rs} weight ${op.weight}` : op.op)).join(", ")}`;
    case "lvsNotify":
      return `lvsNotify ${o.vs} ${o.script}${o.rs === null ? "" : ` rs${o.rs}`}${o.stopping ? " (stopping)" : ""}`;
    case "probe":
      return `probe ${o.vs} rs${o.rs} checker ${o.checker} #${o.seq}`;
    case "cancelProbe":
      return `cancelProbe ${o.vs} rs${o.rs} checker ${o.checker}`;
  }
}
