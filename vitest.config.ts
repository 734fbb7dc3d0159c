import { defineConfig } from "vitest/config";
import SummaryLineReporter from "./test/support/summary.reporter.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "machines/**/*.test.ts", "src/**/*.test.ts", "transports/**/*.test.ts"],
    exclude: ["**/node_modules/**", "dist/**"],
    // The compiled CLI (bin/vigil.js runs dist/) is rebuilt first when the sources changed.
    globalSetup: ["test/support/build-dist.setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // netns tests create namespaces with fixed per-run prefixes; run files in parallel but keep it modest on 2 cores.
    maxWorkers: 2,
    reporters: ["default", new SummaryLineReporter()],
  },
});
