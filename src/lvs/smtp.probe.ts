/**
 * SMTP_CHECK's probe, as keepalived 2.2.7's check_smtp.c: connect (bound to bindto[:bind_port] when
 * set), read the banner line and want status 220, send `HELO helo_name` (default
 * smtpchecker.keepalived.org), read the reply and want 250, send `QUIT`, read one more line (any
 * content) and pass. A status is keepalived's: three digits at the start of the line, then a space
 * or the end of the line (so `220-…` continuation lines and a bare `220\r` do not count). Each
 * read and write has its own deadline (`timeoutMs`, connect_timeout), as keepalived's; lines are
 * read into keepalived's 512-byte buffer, which starts over when full. Reports once; the socket is
 * closed on every path, and by `cancel`. A failure's `reason` is the message keepalived's smtp_final
 * gets (`Read timeout from server [ip]:port`, `Could not connect to server [ip]:port`…): the checker
 * machine logs it as `SMTP_CHECK …` only when keepalived does, after the retries. A connect that
 * fails: `Connection timeout to server` (ETIMEDOUT), `Network unreachable for server IP - real server
 * [ip]:port` (ENETUNREACH, ENETDOWN: connect() fails at once), `Could not connect to server` (any
 * other). A bind failure is no verdict (`rescheduled`), with keepalived's two lines at once
 * (`Checker bind failed: …`, `SMTP_CHECK socket bind failed. Rescheduling.`). Not pure: a socket
 * and timers.
 */
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import { canonicalAddress } from "../protocol/address.ts";
import { dstPair } from "./dns.probe.ts";
import { errnoText } from "./errno-text.ts";
import type { NetProbeResult, NetTarget } from "./net.probe.ts";

export const SMTP_DEFAULT_HELO = "smtpchecker.keepalived.org";
/** check_smtp.h SMTP_BUFF_MAX: a line is read into 511 bytes. */
const SMTP_LINE_BYTES = 511;

export interface SmtpTarget extends NetTarget {
  /** helo_name, or null for keepalived's default. */
  readonly helo: string | null;
  /** The real server's `[ip]:port` (its network-unreachable line names it); default: the target's. */
  readonly realServer?: string;
}

/** check_smtp.c smtp_get_status: the line's status, or -1. */
export function smtpStatus(line: string): number {
  const m = /^(\d{3})(?: |$)/.exec(line);
  return m === null ? -1 : Number(m[1]);
}

const processTimers = {
  setTimeout: (fn: () => void, delayMs: number): unknown => setTimeout(fn, delayMs),
  clearTimeout: (h: unknown): void => clearTimeout(h as NodeJS.Timeout),
};

type Step = "banner" | "helo" | "quit";

/** SMTP_CHECK: banner 220, HELO → 250, QUIT → a line. */
export function smtpProbe(target: SmtpTarget, done: (r: NetProbeResult) => void): () => void {
  const timers = target.timers ?? processTimers;
  const family = isIP(target.host);
  const server = dstPair(target);
  const reason = (what: string): string => `${what} ${server}`;
  let finished = false;
  let socket: Socket | undefined;
  let timer: unknown;
  const finish = (r: NetProbeResult | null): void => {
    if (finished) return;
    finished = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    socket?.destroy();
    if (r !== null) done(r);
  };
  const fail = (what: string, timedOut = false): void =>
    finish({ ok: false, ...(timedOut ? { timedOut: true } : {}), reason: reason(what) });
  const notIp = [target.host, target.bindTo].find((a) => a !== null && isIP(a) === 0);
  if (notIp !== undefined) {
    const lines = [`SMTP_CHECK '${notIp}' is not an IP address`];
    queueMicrotask(() => finish({ ok: false, rescheduled: true, lines }));
    return () => finish(null);
  }
  /** One deadline at a time: the connect, then each read and each write. */
  const deadline = (what: string): void => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = timers.setTimeout(() => fail(what, true), target.timeoutMs);
  };
  deadline("Connection timeout to server");
  let connected = false;
  let step: Step = "banner";
  let buffer = Buffer.alloc(0);
  const s = tcpConnect({
    host: target.host,
    port: target.port,
    ...(target.bindTo === null ? {} : { localAddress: target.bindTo }),
    ...(target.bindTo === null || target.bindPort == null ? {} : { localPort: target.bindPort }),
  });
  socket = s;
  const send = (text: string): void => {
    deadline("Write timeout to server");
    s.write(Buffer.from(text, "latin1").subarray(0, SMTP_LINE_BYTES), (e) => {
      if (e) return void fail("Write failure to server");
      deadline("Read timeout from server");
    });
  };
  const onLine = (text: string): void => {
    if (step === "banner") {
      if (smtpStatus(text) !== 220) return void fail("Bad greeting banner from server");
      step = "helo";
      send(`HELO ${target.helo ?? SMTP_DEFAULT_HELO}\r\n`);
    } else if (step === "helo") {
      if (smtpStatus(text) !== 250) return void fail("Bad HELO response from server");
      step = "quit";
      send("QUIT\r\n");
    } else finish({ ok: true });
  };
  s.once("connect", () => {
    connected = true;
    deadline("Read timeout from server");
  });
  s.on("data", (chunk: Buffer) => {
    deadline("Read timeout from server");
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const nl = buffer.indexOf(0x0a);
      if (nl >= 0 && nl < SMTP_LINE_BYTES) {
        const text = buffer.subarray(0, nl).toString("latin1");
        // keepalived clears its buffer for the next line: what followed this one is not kept.
        buffer = Buffer.alloc(0);
        return void onLine(text);
      }
      if (buffer.length < SMTP_LINE_BYTES) return;
      buffer = buffer.subarray(SMTP_LINE_BYTES); // the full buffer starts over
    }
  });
  s.once("end", () => fail("Read failure from server"));
  s.once("error", (e: NodeJS.ErrnoException) => {
    if (e.syscall === "bind")
      return finish({
        ok: false,
        rescheduled: true,
        lines: [`Checker bind failed: ${errnoText(e).text}`, "SMTP_CHECK socket bind failed. Rescheduling."],
      });
    if (connected) return fail("Read failure from server");
    if (e.syscall !== "connect") return fail("Error connecting to server");
    if (e.code === "ETIMEDOUT") return fail("Connection timeout to server", true);
    if (e.code === "ENETUNREACH" || e.code === "ENETDOWN")
      return finish({
        ok: false,
        reason: `Network unreachable for server ${canonicalAddress(target.host, family === 6 ? 6 : 4) ?? target.host} - real server ${target.realServer ?? server}`,
      });
    fail("Could not connect to server");
  });
  return () => finish(null);
}
