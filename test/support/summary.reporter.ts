/**
 * A vitest reporter that ends the run with one plain line, `tests: N passed, N failed, N skipped`,
 * so any log reader (CI included) can tell how many tests ran without parsing vitest's own summary.
 * The line agrees with vitest's exit status: besides failed tests, each test file that failed
 * outside its tests (it did not load, a describe() or a hook threw) counts as one failure, and so
 * does each unhandled error; a run that vitest failed for another reason never shows 0 failed.
 */
import type { Reporter, TestModule, TestRunEndReason } from "vitest/node";

/** The counts for one run. Pure apart from reading the modules' results. */
export function summarise(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<unknown>,
  reason: TestRunEndReason | undefined,
): { passed: number; failed: number; skipped: number } {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const module of testModules) {
    let failedTests = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") passed++;
      else if (state === "failed") failedTests++;
      else skipped++;
    }
    failed += failedTests;
    // A file that failed with no failed test failed outside them: load error, describe() or hook.
    const failedOutsideTests = module.state() === "failed" || module.errors().length > 0;
    if (failedOutsideTests && failedTests === 0) failed++;
  }
  failed += unhandledErrors.length;
  if (reason === "failed" && failed === 0) failed = 1;
  return { passed, failed, skipped };
}

export default class SummaryLineReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    reason?: TestRunEndReason,
  ): void {
    const { passed, failed, skipped } = summarise(testModules, unhandledErrors, reason);
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
