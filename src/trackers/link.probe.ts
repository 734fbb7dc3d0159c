/**
 * Interface state for `track_interface` and each instance's own interface, from rtnetlink link
 * events (RTNLGRP_LINK; no polling). An interface is up when IFF_UP and IFF_RUNNING are both set
 * (keepalived's FLAGS_UP); an interface that does not exist, or is deleted, is down, and one that
 * appears later is reported as it comes. `interface_up_down_delays` debounces as keepalived's
 * update_interface_flags (keepalived_netlink.c): only once the interface has been seen up, a change
 * waits `downDelayUs` / `upDelayUs`; the opposite change meanwhile cancels it (`Delay timer for X
 * cancelled`). The probe subscribes to events first, then dumps every link, reports the dumped
 * state of every tracked interface (repeats are harmless: the tracker machine ignores a result
 * equal to its state) and afterwards reports changes only. Not pure: the edge to the kernel.
 */
import type { NetlinkMessage, RtNetlinkSocket } from "netlink";
import { Observable } from "rxjs";
import {
  dumpLinks,
  heldUntilDump,
  type OpenRtnl,
  openRtnl,
  parseLink,
  RTM_DELLINK,
  RTM_NEWLINK,
} from "../effects/rtnetlink.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Input } from "../runtime/input.ts";
import type { ProbeLog } from "./script.probe.ts";

export type LinkInput = Extract<Input, { kind: "link" }>;

export interface LinkDelays {
  readonly downDelayUs: number;
  readonly upDelayUs: number;
}

export interface LinkProbeOptions {
  readonly open?: OpenRtnl;
  readonly timeoutMs?: number;
}

/** The current state of each named interface (absent → down). Rejects when rtnetlink fails. */
export async function readLinkStates(
  ifnames: readonly string[],
  opts: LinkProbeOptions = {},
): Promise<Map<string, boolean>> {
  const sock = (opts.open ?? openRtnl)();
  try {
    const rows = await dumpLinks(sock, opts.timeoutMs ?? 5000);
    if ("code" in rows) throw new Error(`rtnetlink link dump: ${rows.code}`);
    const up = new Map(ifnames.map((n) => [n, false] as [string, boolean]));
    for (const r of rows) if (up.has(r.ifname)) up.set(r.ifname, r.up);
    return up;
  } finally {
    sock.socket.close();
  }
}

/** The names of every interface in the socket's namespace now. Rejects when rtnetlink fails. */
export async function existingLinks(opts: LinkProbeOptions = {}): Promise<Set<string>> {
  const sock = (opts.open ?? openRtnl)();
  try {
    const rows = await dumpLinks(sock, opts.timeoutMs ?? 5000);
    if ("code" in rows) throw new Error(`rtnetlink link dump: ${rows.code}`);
    return new Set(rows.map((r) => r.ifname));
  } finally {
    sock.socket.close();
  }
}

/**
 * Raw link states of the host as a stream: the dump's state of every `ifnames` entry, then every
 * change (`{ifname, up}`, not debounced). Errors end the stream.
 */
export function linkEvents$(ifnames: readonly string[], opts: LinkProbeOptions = {}): Observable<LinkInput> {
  const open = opts.open ?? openRtnl;
  const tracked = new Set(ifnames);
  return new Observable<LinkInput>((subscriber) => {
    const byIndex = new Map<number, string>();
    const state = new Map<string, boolean>();
    let events: RtNetlinkSocket | undefined;
    let lookup: RtNetlinkSocket | undefined;
    const set = (ifname: string, up: boolean, force: boolean): void => {
      if (!tracked.has(ifname)) return;
      if (!force && state.get(ifname) === up) return;
      state.set(ifname, up);
      subscriber.next({ kind: "link", ifname, up });
    };
    const handle = (m: NetlinkMessage): void => {
      if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) return;
      const row = parseLink(m);
      if (row === undefined) return;
      const before = byIndex.get(row.index);
      if (before !== undefined && before !== row.ifname) set(before, false, false); // renamed away
      if (m.type === RTM_DELLINK) byIndex.delete(row.index);
      else byIndex.set(row.index, row.ifname);
      set(row.ifname, row.up, false);
    };
    const { receive, release } = heldUntilDump(handle);
    try {
      events = open();
      events.socket.on("message", receive);
      events.socket.on("error", (e) => subscriber.error(new Error(`rtnetlink link watch: ${e.message}`)));
      events.addMembership("LINK");
      lookup = open();
    } catch (error) {
      events?.socket.close();
      subscriber.error(error);
      return undefined;
    }
    void dumpLinks(lookup, opts.timeoutMs ?? 5000).then((rows) => {
      lookup?.socket.close();
      lookup = undefined;
      if (subscriber.closed) return;
      if ("code" in rows) {
        subscriber.error(new Error(`rtnetlink link dump: ${rows.code}`));
        return;
      }
      const dumped = new Map<string, boolean>();
      for (const r of rows) {
        byIndex.set(r.index, r.ifname);
        dumped.set(r.ifname, r.up);
      }
      for (const n of tracked) set(n, dumped.get(n) ?? false, true);
      release();
    });
    return () => {
      lookup?.socket.close();
      events?.socket.close();
      events = undefined;
    };
  });
}

/**
 * keepalived's interface_up_down_delays over a stream of raw link states, on the injected clock.
 * The first state of each interface passes at once; later changes wait the configured delay once
 * the interface has been seen up, and an opposite change cancels a pending one.
 */
export function debounceLinks(
  source: Observable<LinkInput>,
  delays: ReadonlyMap<string, LinkDelays>,
  deps: { readonly clock: Clock; readonly log: ProbeLog },
): Observable<LinkInput> {
  return new Observable<LinkInput>((subscriber) => {
    const current = new Map<string, boolean>();
    const seenUp = new Set<string>();
    const pending = new Map<string, { up: boolean; handle: TimerHandle }>();
    const apply = (ifname: string, up: boolean): void => {
      current.set(ifname, up);
      if (up) seenUp.add(ifname);
      subscriber.next({ kind: "link", ifname, up });
    };
    const sub = source.subscribe({
      next: (ev) => {
        const p = pending.get(ev.ifname);
        if (p !== undefined) {
          if (p.up === ev.up) return;
          p.handle.cancel();
          pending.delete(ev.ifname);
          deps.log(`Delay timer for ${ev.ifname} cancelled`, false);
        }
        const was = current.get(ev.ifname);
        if (was === undefined) {
          apply(ev.ifname, ev.up);
          return;
        }
        if (was === ev.up) {
          subscriber.next(ev); // a repeat: harmless, keeps the dump's guarantee
          return;
        }
        const d = delays.get(ev.ifname);
        const delayUs = d === undefined ? 0 : ev.up ? d.upDelayUs : d.downDelayUs;
        if (!seenUp.has(ev.ifname) || delayUs <= 0) {
          apply(ev.ifname, ev.up);
          return;
        }
        deps.log(`${ev.ifname}: Adding link ${ev.up ? "up" : "down"} change delay by ${delayUs}`, false);
        const handle = deps.clock.setTimerUs(() => {
          pending.delete(ev.ifname);
          apply(ev.ifname, ev.up);
        }, delayUs);
        pending.set(ev.ifname, { up: ev.up, handle });
      },
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
    return () => {
      sub.unsubscribe();
      for (const p of pending.values()) p.handle.cancel();
      pending.clear();
    };
  });
}
