/**
 * `HOST:PORT` as `vigil run --status` and `vigil status --addr` take it: an IPv4 address, a host
 * name, or an IPv6 address in brackets (`[::1]:9118`), then a port 1–65535. Pure.
 */
import { isIP } from "node:net";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The address, or an error message. */
export function parseHostPort(what: string, text: string): HostPort | string {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const bad = `${what} must be HOST:PORT (IPv6 as [ADDR]:PORT), got '${text}'`;
  if (m === null) return bad;
  const [, v6, name, portText = ""] = m;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return `${what}: the port must be 1 to 65535, got '${portText}'`;
  if (v6 !== undefined) return isIP(v6) === 6 ? { host: v6, port } : bad;
  const host = name ?? "";
  if (isIP(host) === 4 || (HOSTNAME.test(host) && !/^[\d.]+$/.test(host))) return { host, port };
  return bad;
}

/** `host:port`, an IPv6 address in brackets. */
export const formatHostPort = (a: HostPort): string =>
  a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
