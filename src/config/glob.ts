/**
 * Shell-style path patterns for `include`: csh `{a,b}` brace expansion and `*`, `?`, `[...]`
 * segment matching, as glob(3) with GLOB_BRACE does for keepalived. Pure apart from the calls
 * `globPaths` makes on the file-system view it is given.
 */

/** `a{b,c}d` → [`abd`, `acd`]; nested braces are expanded left to right. At most 4096 results. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf("{");
  if (open < 0) return [pattern];
  let depth = 0;
  let close = -1;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      close = i;
      break;
    } else if (c === "," && depth === 1) commas.push(i);
  }
  if (close < 0 || commas.length === 0) return [pattern];
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const bounds = [open, ...commas, close];
  const out: string[] = [];
  for (let k = 0; k + 1 < bounds.length && out.length < 4096; k++) {
    const alt = pattern.slice((bounds[k] as number) + 1, bounds[k + 1]);
    out.push(...expandBraces(head + alt + tail));
  }
  return out.slice(0, 4096);
}

export const hasGlob = (s: string): boolean => /[*?[]/.test(s);

/** One path segment pattern to an anchored regular expression. */
export function globToRegExp(segment: string): RegExp {
  let re = "^";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = segment.slice(i + 1, end);
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  try {
    return new RegExp(`${re}$`);
  } catch {
    return new RegExp(`^${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  }
}

/** The slice of `ConfigFs` that globbing needs (structural, to keep this module free of imports). */
interface GlobFs {
  readonly readFile: (path: string) => unknown;
  readonly listDir: (path: string) => readonly string[] | undefined;
}

const joinPath = (dir: string, name: string): string =>
  name.startsWith("/") ? name : dir === "." ? name : `${dir.replace(/\/$/, "")}/${name}`;

/** Expands `*`, `?` and `[...]` in a path segment by segment, sorted like glob(3). */
export function globPaths(pattern: string, fs: GlobFs): string[] {
  const absolute = pattern.startsWith("/");
  const segments = pattern.split("/").filter((s) => s !== "");
  let paths = [absolute ? "/" : "."];
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const next: string[] = [];
    for (const base of paths) {
      if (!hasGlob(segment)) {
        next.push(joinPath(base, segment));
        continue;
      }
      const re = globToRegExp(segment);
      const entries = fs.listDir(base) ?? [];
      for (const e of [...entries].sort()) {
        if (e.startsWith(".") && !segment.startsWith(".")) continue;
        if (re.test(e)) next.push(joinPath(base, e));
      }
    }
    paths = last ? next : next.filter((p) => fs.listDir(p) !== undefined);
  }
  return paths.filter((p) => fs.readFile(p) !== undefined || fs.listDir(p) === undefined);
}

/** The directory a pattern's first wildcard is looked for in (glob opens it): `d/x*` → `d`. */
export function globBase(pattern: string): string {
  const segments = pattern.split("/");
  const first = segments.findIndex((s) => hasGlob(s));
  const base = segments.slice(0, first < 0 ? segments.length - 1 : first).join("/");
  return base === "" ? (pattern.startsWith("/") ? "/" : ".") : base;
}

/** keepalived's have_brace: an unescaped `{` in the pattern. */
export function hasBrace(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === "\\") i++;
    else if (pattern[i] === "{") return true;
  }
  return false;
}
