/**
 * Helpers for the LVS probe tests: a throw-away self-signed certificate for TLS servers, and the
 * production probe port built from a configuration text (its log lines kept). Not pure: files,
 * `openssl`, and the port's sockets and processes.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProbeResult } from "../../machines/checker.machine.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createProcessRunner } from "../../src/effects/process-runner.ts";
import { nodeScriptEnv } from "../../src/effects/script-env.ts";
import { createProbePort, type ProbeRequest } from "../../src/lvs/probe-port.ts";

/** A self-signed RSA certificate for CN=127.0.0.1, written into `dir` and read back as PEM text. */
export function selfSignedKeys(dir: string): { key: string; cert: string } {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1"].concat([
      "-keyout",
      key,
      "-out",
      cert,
    ]),
    { stdio: "ignore" },
  );
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
}

/**
 * The probe port of the configuration `conf` (written into `dir`; it must load runnable): `run`
 * probes once, `lines` collects what the port logs.
 */
export function configProbePort(dir: string, conf: string) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, conf);
  const { runnable, diagnostics } = loadConfig(file, { configId: "lb1" });
  if (runnable === undefined) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const runner = createProcessRunner();
  const lines: string[] = [];
  const probe = createProbePort({
    config: runnable,
    runner,
    scriptEnv: nodeScriptEnv(),
    log: (l) => lines.push(l),
  });
  const run = (req: ProbeRequest): Promise<ProbeResult> => new Promise((done) => probe(req, done));
  return { probe, run, lines, runner, config: runnable };
}
