#!/usr/bin/env node
// Entry point of the `vigil` command: runs the compiled CLI in dist/ (built by `npm run build`,
// which `npm ci` and `npm test` run; see bin/build.ts). There is no fallback to the TypeScript
// sources: without dist/ it says so and exits 70 (EX_SOFTWARE).
import { existsSync } from "node:fs";

const entry = new URL("../dist/vigil.js", import.meta.url);
if (existsSync(entry)) await import(entry.href);
else {
  process.stderr.write("vigil: the compiled CLI (dist/vigil.js) is missing: run `npm run build` first\n");
  process.exitCode = 70;
}
