/**
 * The generated diagrams in the repository are current: docs/diagrams/ (mermaid, SVG, DOT of
 * every machine) and README.md's mermaid block equal what the machine definitions give now.
 * When a machine changes, regenerate with `npm run graphs` (src/viz/write-docs.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diagramFiles, README_BEGIN, README_END, readmeWithDiagram } from "../../src/viz/render.ts";
import { repoRoot } from "../netns/support/vigil.ts";

const read = (rel: string): string | undefined => {
  try {
    return readFileSync(join(repoRoot, rel), "utf8");
  } catch {
    return undefined;
  }
};
const STALE = "stale: run `npm run graphs` (tsx src/viz/write-docs.ts) and commit the result";

describe("generated diagrams", () => {
  it("docs/diagrams/ is up to date", async () => {
    const files = await diagramFiles();
    expect(files.size).toBe(9);
    for (const [rel, content] of files) expect(read(rel), `${rel} ${STALE}`).toBe(content);
  });

  it("README.md embeds the instance machine's current mermaid chart", async () => {
    const readme = read("README.md") ?? "";
    expect(readme).toContain(README_BEGIN);
    expect(readme).toContain(README_END);
    expect(readme, `README.md ${STALE}`).toBe(await readmeWithDiagram(readme));
  });

  it("a stale block is detected", async () => {
    const readme = `x\n${README_BEGIN}\n\`\`\`mermaid\nstateDiagram-v2\n\`\`\`\n${README_END}\ny\n`;
    expect(await readmeWithDiagram(readme)).not.toBe(readme);
    await expect(readmeWithDiagram("no markers")).rejects.toThrow(/markers/);
  });
});
