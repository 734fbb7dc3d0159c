/**
 * How the host reacts to an effect outcome (an `effect` input): keepalived 2.2.7 logs a failed effect
 * and keeps running — a VIP that netlink refused (`Netlink: error: …`), a GARP / NA that could not be
 * sent, an advert that could not be sent, a notify script that could not be executed. Completions
 * change nothing. A failure of the log port itself produces nothing (it would loop). The reaction is
 * a pure function of the input and the instance's static spec, so a journal replays it identically.
 *
 * keepalived's own lines carry things Vigil cannot reproduce deterministically (a netlink sequence
 * number and pid, the script path resolved by the port): those parts are replaced by the port's
 * `detail` after ` - `. Pure.
 */
import type { Command } from "../../machines/events.ts";
import type { EffectInput } from "./input.ts";

/** errno names Linux effects report, with their number and strerror text. */
const ERRNO: Readonly<Record<string, readonly [number, string]>> = {
  EPERM: [1, "Operation not permitted"],
  ENOENT: [2, "No such file or directory"],
  ESRCH: [3, "No such process"],
  EINTR: [4, "Interrupted system call"],
  EIO: [5, "Input/output error"],
  ENXIO: [6, "No such device or address"],
  E2BIG: [7, "Argument list too long"],
  ENOEXEC: [8, "Exec format error"],
  EBADF: [9, "Bad file descriptor"],
  EAGAIN: [11, "Resource temporarily unavailable"],
  ENOMEM: [12, "Cannot allocate memory"],
  EACCES: [13, "Permission denied"],
  EBUSY: [16, "Device or resource busy"],
  EEXIST: [17, "File exists"],
  ENODEV: [19, "No such device"],
  ENOTDIR: [20, "Not a directory"],
  EINVAL: [22, "Invalid argument"],
  ENFILE: [23, "Too many open files in system"],
  EMFILE: [24, "Too many open files"],
  ETXTBSY: [26, "Text file busy"],
  ENOSPC: [28, "No space left on device"],
  EPIPE: [32, "Broken pipe"],
  ERANGE: [34, "Numerical result out of range"],
  ENAMETOOLONG: [36, "File name too long"],
  ELOOP: [40, "Too many levels of symbolic links"],
  EMSGSIZE: [90, "Message too long"],
  EPROTONOSUPPORT: [93, "Protocol not supported"],
  EOPNOTSUPP: [95, "Operation not supported"],
  EAFNOSUPPORT: [97, "Address family not supported by protocol"],
  EADDRINUSE: [98, "Address already in use"],
  EADDRNOTAVAIL: [99, "Cannot assign requested address"],
  ENETDOWN: [100, "Network is down"],
  ENETUNREACH: [101, "Network is unreachable"],
  ENOBUFS: [105, "No buffer space available"],
  ETIMEDOUT: [110, "Connection timed out"],
  EHOSTUNREACH: [113, "No route to host"],
  ECANCELED: [125, "Operation canceled"],
};

/** `[errno, strerror]` of an errno name, or undefined for a Vigil code (UNSAFE, TIMEOUT, INTERNAL). */
export const errnoOf = (code: string | undefined): readonly [number, string] | undefined =>
  code === undefined ? undefined : ERRNO[code];

/** What the reaction needs to know about the instance a command came from. */
export interface ReactionContext {
  readonly family: 4 | 6;
  readonly unicast: boolean;
}

const line = (text: string): Command => ({ type: "log", line: text });
/** keepalived logs an exec failure of a script at LOG_ALERT (lib/notify.c). */
const errorLine = (text: string): Command => ({ type: "log", line: text, severity: "error" });

/** The log lines (as `log` commands) keepalived writes for this effect outcome; [] for a success. */
export const effectReaction = (i: EffectInput, ctx: ReactionContext | undefined): Command[] => {
  if (i.ok) return [];
  const code = i.code ?? "INTERNAL";
  const errno = errnoOf(code);
  const tag = i.instance === undefined || i.instance === "" ? "" : `(${i.instance}) `;
  const why = errno === undefined ? `${code} - ${i.detail}` : `${errno[1]} - ${i.detail}`;
  switch (i.op) {
    case "addVips":
    case "removeVips": {
      if (errno === undefined)
        return [line(`${tag}${i.op === "addVips" ? "setting" : "removing"} VIPs failed: ${why}`)];
      const type = i.op === "addVips" ? "RTM_NEWADDR(20)" : "RTM_DELADDR(21)";
      return [line(`Netlink: error: ${errno[1]}(${errno[0]}), type=${type} - ${tag}${i.detail}`)];
    }
    case "addRoutes":
    case "removeRoutes": {
      const add = i.op === "addRoutes";
      if (errno === undefined)
        return [line(`${tag}${add ? "setting" : "removing"} Virtual Routes / Rules failed: ${why}`)];
      // The port names the entry first: `rule …` or `route …` (route.effect.ts).
      const rule = i.detail.startsWith("rule ");
      const type = rule
        ? add
          ? "RTM_NEWRULE(32)"
          : "RTM_DELRULE(33)"
        : add
          ? "RTM_NEWROUTE(24)"
          : "RTM_DELROUTE(25)";
      return [line(`Netlink: error: ${errno[1]}(${errno[0]}), type=${type} - ${tag}${i.detail}`)];
    }
    case "garp": {
      const on = i.target ?? "?";
      if (errno === undefined)
        return [line(`${tag}gratuitous ${ctx?.family === 6 ? "NA" : "ARP"} burst on ${on} failed: ${why}`)];
      return [
        line(
          ctx?.family === 6
            ? `Error ${errno[0]} sending ndisc unsolicited neighbour advert on ${on} - ${i.detail}`
            : `Error ${errno[0]} (${errno[1]}) sending gratuitous ARP on ${on} - ${i.detail}`,
        ),
      ];
    }
    case "sendAdvert": {
      const name = i.instance ?? "?";
      if (ctx?.unicast === true) return [line(`(${name}) Cant send advert to ${i.target ?? "?"} (${why})`)];
      return [
        line(
          errno === undefined
            ? `(${name}): send advert error ${why}`
            : `(${name}): send advert error ${errno[0]} (${errno[1]})`,
        ),
      ];
    }
    case "notify":
      return [
        errno === undefined
          ? line(`Notify script for ${i.target ?? "?"} not run: ${why}`)
          : errorLine(`Error exec-ing command for ${i.target ?? "?"}, error ${errno[0]}: ${why}`),
      ];
    case "fifo":
      return [line(`Unable to write notify fifo: ${why}`)];
    default:
      // The log port failed (or an unknown op): logging about it would feed the same failure back.
      return [];
  }
};
