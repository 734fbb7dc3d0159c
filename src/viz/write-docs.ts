/**
 * `npm run graphs` (`tsx src/viz/write-docs.ts`): regenerates docs/diagrams/ (mermaid, SVG and DOT
 * of every machine) and the mermaid block in README.md from the machine definitions. Writes files
 * only when their content changed. Not pure (file system).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { diagramFiles, readmeWithDiagram } from "./render.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const writeIfChanged = (path: string, content: string): boolean => {
  let old: string | undefined;
  try {
    old = readFileSync(path, "utf8");
  } catch {
    old = undefined;
  }
  if (old === content) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return true;
};

const changed: string[] = [];
for (const [rel, content] of await diagramFiles())
  if (writeIfChanged(join(repoRoot, rel), content)) changed.push(rel);
const readmePath = join(repoRoot, "README.md");
if (writeIfChanged(readmePath, await readmeWithDiagram(readFileSync(readmePath, "utf8"))))
  changed.push("README.md");
process.stdout.write(changed.length === 0 ? "diagrams up to date\n" : `updated: ${changed.join(", ")}\n`);
