/**
 * errno as keepalived's checkers print it: the number and glibc's strerror text, for the socket errors
 * Node reports by name (`ECONNREFUSED` → 111, `Connection refused`). A name without a text here
 * keeps its name as the text; and how keepalived's checkers classify a connect that failed (a bind
 * failure, connect() failing at once or later). Pure (the numbers are the host's constants).
 */
import { constants } from "node:os";

const STRERROR: Readonly<Record<string, string>> = {
  EPERM: "Operation not permitted",
  EACCES: "Permission denied",
  EINVAL: "Invalid argument",
  EMSGSIZE: "Message too long",
  EAFNOSUPPORT: "Address family not supported by protocol",
  EADDRINUSE: "Address already in use",
  EADDRNOTAVAIL: "Cannot assign requested address",
  ENETDOWN: "Network is down",
  ENETUNREACH: "Network is unreachable",
  ECONNABORTED: "Software caused connection abort",
  ECONNRESET: "Connection reset by peer",
  ENOBUFS: "No buffer space available",
  ETIMEDOUT: "Connection timed out",
  ECONNREFUSED: "Connection refused",
  EHOSTDOWN: "Host is down",
  EHOSTUNREACH: "No route to host",
};

/** An error's errno number (0 when unknown) and strerror text. */
export function errnoText(e: { readonly code?: string | undefined; readonly message: string }): {
  readonly errno: number;
  readonly text: string;
} {
  const code = e.code;
  if (code === undefined) return { errno: 0, text: e.message };
  const errno = (constants.errno as Readonly<Record<string, number>>)[code] ?? 0;
  return { errno, text: STRERROR[code] ?? code };
}

/** layer4.c socket_bind_connect: the connect() errors that are a failure to connect (connect_fail). */
export const CONNECT_FAILURES: ReadonlySet<string> = new Set([
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ECONNREFUSED",
  "EHOSTDOWN",
  "ENETDOWN",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
]);

/** How a connect that did not succeed ends, as layer4.c socket_bind_connect and socket_state tell it. */
export type ConnectEnd =
  /** bind() failed: `Checker bind failed: <strerror>`, then the checker's `Rescheduling.` line. */
  | { readonly kind: "bind"; readonly text: string }
  /** connect() failed at once with an error that is not a failed connection (connect_error). */
  | { readonly kind: "error" }
  /** connect() failed at once with a failed connection (connect_fail: ENETUNREACH, ECONNREFUSED…). */
  | { readonly kind: "unreachable" }
  /** The connection failed later: ETIMEDOUT (connect_timeout) or any other error (connect_fail). */
  | { readonly kind: "timeout" }
  | { readonly kind: "failed" };

/** A connect error as keepalived's checkers see it; `atOnce`: connect() itself returned it. */
export function connectEnd(e: NodeJS.ErrnoException, atOnce: boolean): ConnectEnd {
  if (e.syscall === "bind") return { kind: "bind", text: errnoText(e).text };
  if (atOnce) return CONNECT_FAILURES.has(e.code ?? "") ? { kind: "unreachable" } : { kind: "error" };
  return e.code === "ETIMEDOUT" ? { kind: "timeout" } : { kind: "failed" };
}
