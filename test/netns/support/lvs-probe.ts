/**
 * Runs checker probes (TCP_CHECK, HTTP_GET, SSL_GET) from inside a lab namespace, one after the
 * other, and prints one JSON line per result (`{"name":…,"result":{…},"ms":…}`), then
 * `{"sockets":N}` — the socket handles still open in this process once every probe has reported.
 * Argument: a JSON array of `{ name, kind: "tcp"|"http"|"ssl", host, port, path?, bindTo?,
 * bindPort?, regex?, timeoutMs }` (`regex`: a dotall pattern the whole response must match).
 */
import { httpProbe, type NetProbeResult, tcpProbe } from "../../../src/lvs/net.probe.ts";

interface Plan {
  readonly name: string;
  readonly kind: "tcp" | "http" | "ssl";
  readonly host: string;
  readonly port: number;
  readonly path?: string;
  readonly bindTo?: string;
  readonly bindPort?: number;
  readonly regex?: string;
  readonly timeoutMs: number;
}

const plans = JSON.parse(process.argv[2] ?? "[]") as Plan[];
for (const p of plans) {
  const t0 = Date.now();
  const target = {
    host: p.host,
    port: p.port,
    bindTo: p.bindTo ?? null,
    bindPort: p.bindPort ?? null,
    timeoutMs: p.timeoutMs,
    label: `[${p.host}]:tcp:${p.port}`,
  };
  const result = await new Promise<NetProbeResult>((resolve) =>
    p.kind === "tcp"
      ? tcpProbe(target, resolve)
      : httpProbe(
          {
            ...target,
            tls: p.kind === "ssl",
            path: p.path ?? "/",
            statusCodes: null,
            digest: null,
            regex:
              p.regex === undefined
                ? null
                : { pattern: p.regex, flags: "s", noMatch: false, minOffset: 0, maxOffset: null },
          },
          resolve,
        ),
  );
  process.stdout.write(`${JSON.stringify({ name: p.name, result, ms: Date.now() - t0 })}\n`);
}
await new Promise((r) => setTimeout(r, 100));
const sockets = process
  .getActiveResourcesInfo()
  .filter((r) => r === "TCPSocketWrap" || r === "TLSWrap").length;
process.stdout.write(`${JSON.stringify({ sockets })}\n`);
