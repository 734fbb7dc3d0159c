/** An in-memory `ConfigFs` for tests: a map from path to text; directories are derived. */
import type { ConfigFs } from "../../src/config/load.ts";

export function memFs(files: Readonly<Record<string, string>>): ConfigFs {
  return {
    readFile: (path) => files[path.replace(/^\.\//, "")],
    listDir: (path) => {
      const dir = path === "." ? "" : `${path.replace(/^\.\//, "").replace(/\/$/, "")}/`;
      const names = new Set<string>();
      for (const f of Object.keys(files))
        if (f.startsWith(dir)) names.add(f.slice(dir.length).split("/")[0] as string);
      return names.size === 0 ? undefined : [...names];
    },
  };
}
