/**
 * vitest global setup: builds the compiled CLI (dist/, bin/build.ts) before any test file runs,
 * unless it is already up to date with the sources, so a test that spawns bin/vigil.js never runs
 * stale output, also under a bare `npx vitest run FILE`. When the build fails (a source that does
 * not compile), the errors are printed and dist/'s entry is removed: the tests that spawn the CLI
 * then fail with bin/vigil.js's "run `npm run build`" line instead of running old code, and the
 * other tests still run. (`npm test` builds first through `pretest` and stops on a build error.)
 * Not pure (file system).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { buildDist, distDir, distIsFresh } from "../../bin/build.ts";

export default async function setup(): Promise<void> {
  if (distIsFresh()) return;
  try {
    await buildDist();
  } catch (error) {
    rmSync(join(distDir, "vigil.js"), { force: true });
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `\nvigil build FAILED (dist/vigil.js removed; CLI tests will fail):\n${message}\n\n`,
    );
  }
}
