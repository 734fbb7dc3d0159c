#!/usr/bin/env node
// Entry point of the `vigil` command: runs the compiled CLI in dist/ (built by `npm run build`,
// which `npm ci` and `npm test` run; see bin/build.ts). There is no fallback to the TypeScript
// sources: without dist/ it says so and exits 70 (EX_SOFTWARE). `vigil run` first replaces this
// process by node with the daemon's memory settings (bin/daemon-exec.js; same PID).
import { existsSync } from "node:fs";

if (process.argv[2] === "run" || process.env.VIGIL_EXEC_ENV !== undefined) {
  const { execDaemon, forgetExecEnv } = await import("./daemon-exec.js");
  forgetExecEnv();
  await execDaemon();
}
const entry = new URL("../dist/vigil.js", import.meta.url);
if (existsSync(entry)) await import(entry.href);
else {
  process.stderr.write("vigil: the compiled CLI (dist/vigil.js) is missing: run `npm run build` first\n");
  process.exitCode = 70;
}
