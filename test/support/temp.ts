/**
 * Temp dirs for tests that are removed when they are done: `tempDirForTest` inside a test (removed
 * when that test finishes), `tempDirForFile` at a test file's top level (removed after the file).
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
