/**
 * Temp dirs for tests that are removed when they are done: `tempDirForTest` inside a test (removed
 * when that test finishes), `tempDirForFile` at a test file's top level (removed after the file),
 * `tempDirForSuite` at a describe's level for hooks to use (a `beforeAll` cannot register an
 * `afterAll`: vitest drops it silently, and the directory would be left behind).
 * Not pure (file system).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, onTestFinished } from "vitest";

const make = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));
const remove = (dir: string) => () => rmSync(dir, { recursive: true, force: true });

export function tempDirForTest(prefix: string): string {
  const dir = make(prefix);
  onTestFinished(remove(dir));
  return dir;
}

export function tempDirForFile(prefix: string): string {
  const dir = make(prefix);
  afterAll(remove(dir));
  return dir;
}

/** Called in a describe's body: returns the suite's dir, made on first use, removed after the suite. */
export function tempDirForSuite(prefix: string): () => string {
  let dir: string | undefined;
  afterAll(() => {
    if (dir !== undefined) remove(dir)();
  });
  return () => {
    dir ??= make(prefix);
    return dir;
  };
}
