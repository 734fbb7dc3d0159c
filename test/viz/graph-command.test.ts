/**
 * `vigil graph` (src/cli/graph.ts), run in-process and, for what it loads, as a traced Node
 * process on the sources: --help exits 0, an unknown machine or format exits 64 with a clear
 * message, each format prints its chart, and the command stays light (no machine, xstate or elkjs
 * for --help; no elkjs unless the format is SVG; never the daemon).
 */
import { describe, expect, it } from "vitest";
import { GRAPH_FORMATS, GRAPH_MACHINES, graphCommand } from "../../src/cli/graph.ts";
import { renderChart } from "../../src/viz/render.ts";
import { repoRoot } from "../netns/support/vigil.ts";
import { packageOf, traceModules } from "../support/loaded-modules.ts";

const run = async (args: string[]) => {
  let out = "";
  let err = "";
  const code = await graphCommand.run(args, {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
  });
  return { code, out, err };
};

describe("vigil graph", () => {
  it("--help: usage on stdout, exit 0", async () => {
    const r = await run(["--help"]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toMatch(
      /^usage: vigil graph \[--machine vrrp-instance\|sync-group\|tracker\] \[--format mermaid\|svg\|dot\]/,
    );
  });

  it.each([
    [["--machine", "vrrp"], /unknown machine 'vrrp' \(expected vrrp-instance, sync-group, tracker\)/],
    [["--format", "png"], /unknown format 'png' \(expected mermaid, svg, dot\)/],
    [["--machine", ""], /unknown machine ''/],
    [["--format", "MERMAID"], /unknown format 'MERMAID'/],
    [["--machine", "tracker", "--machine", "tracker"], /more than once/],
    [["--colour"], /Unknown option/],
    [["tracker"], /unexpected argument/],
  ])("%j: exit 64 with a clear message", async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(64);
    expect(r.out).toBe("");
    expect(r.err).toMatch(message);
    expect(r.err).toContain("usage: vigil graph");
  });

  it("the message of an unknown name is terminal-safe", async () => {
    const r = await run(["--machine", "x\u001b[2Jy"]);
    expect(r.code).toBe(64);
    expect(r.err).not.toContain("\u001b");
  });

  it("defaults to the instance machine in mermaid", async () => {
    const r = await run([]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe(await renderChart("vrrp-instance", "mermaid"));
    expect(r.out.startsWith("stateDiagram-v2\n")).toBe(true);
  });

  it.each(GRAPH_MACHINES.flatMap((m) => GRAPH_FORMATS.map((f) => [m, f] as const)))(
    "--machine %s --format %s",
    async (machine, format) => {
      const r = await run(["-m", machine, "--format", format]);
      expect(r).toMatchObject({ code: 0, err: "" });
      expect(r.out).toBe(await renderChart(machine, format));
      expect(r.out.split("\n")[0]).toMatch(
        format === "mermaid" ? /^stateDiagram-v2$/ : format === "dot" ? /^digraph / : /^<svg xmlns=/,
      );
    },
  );
});

describe("what vigil graph loads", () => {
  /** The packages (other than tsx's own loader) a traced run of the command on the sources loads. */
  const packagesFor = (args: readonly string[]) => {
    const script = `const { graphCommand } = await import("./src/cli/graph.ts");
      const code = await graphCommand.run(${JSON.stringify(args)}, { stdout: () => {}, stderr: (t) => process.stderr.write(t) });
      process.exitCode = code;`;
    const r = traceModules(["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const loader = new Set(["tsx", "esbuild", "get-tsconfig", "resolve-pkg-maps"]);
    const packages = new Set<string>();
    for (const u of r.modules) {
      const p = packageOf(u);
      if (p !== undefined && !loader.has(p)) packages.add(p);
    }
    const sources = r.modules.filter((u) => u.includes("/src/") || u.includes("/machines/"));
    return { packages: [...packages].sort(), sources };
  };

  it("--help: no machine, no package", () => {
    const r = packagesFor(["--help"]);
    expect(r.packages).toEqual([]);
    expect(r.sources.some((u) => u.includes("/machines/") || u.includes("/viz/"))).toBe(false);
  });

  it("mermaid: xstate only; svg: xstate and elkjs; never the daemon", () => {
    const mermaid = packagesFor(["--format", "mermaid"]);
    expect(mermaid.packages).toEqual(["xstate"]);
    const svg = packagesFor(["--format", "svg"]);
    expect(svg.packages).toEqual(["elkjs", "xstate"]);
    for (const u of [...mermaid.sources, ...svg.sources])
      expect(u).not.toMatch(/\/src\/(daemon|runtime|effects|config|trackers)\/|\/transports\//);
  });
});
