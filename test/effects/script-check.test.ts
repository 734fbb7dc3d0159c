/**
 * keepalived's per-script security decisions (lib/notify.c check_script_secure / check_security /
 * find_path / is_executable) over an in-memory file system: which scripts are refused, with which
 * code and which keepalived log line, and which argv[0] is run.
 */
import { describe, expect, it } from "vitest";
import { checkScript, pathPrefixes } from "../../src/effects/script-security.ts";
import { fakeEnv } from "./fake-script-env.ts";

const base = {
  "/etc": { type: "dir" },
  "/etc/ka": { type: "dir" },
  "/etc/ka/ok.sh": { type: "file" },
  "/etc/ka/noexec.sh": { type: "file", perm: 0o644 },
  "/etc/ka/ownerx.sh": { type: "file", perm: 0o744 },
  "/etc/ka/user.sh": { type: "file", uid: 1000 },
  "/etc/ka/gw.sh": { type: "file", perm: 0o775, gid: 10 },
  "/etc/ka/gw0.sh": { type: "file", perm: 0o775, gid: 0 },
  "/tmp": { type: "dir", perm: 0o1777 },
  "/tmp/s.sh": { type: "file" },
  "/srv": { type: "dir", perm: 0o777 },
  "/srv/s.sh": { type: "file" },
  "/grp": { type: "dir", perm: 0o775, gid: 10 },
  "/grp/s.sh": { type: "file" },
  "/grp0": { type: "dir", perm: 0o775, gid: 0 },
  "/grp0/s.sh": { type: "file" },
  "/home": { type: "dir" },
  "/home/u": { type: "dir", uid: 1000 },
  "/home/u/s.sh": { type: "file" },
  "/priv": { type: "dir", perm: 0o700 },
  "/priv/s.sh": { type: "file" },
  "/usr": { type: "dir" },
  "/usr/bin": { type: "dir" },
  "/usr/bin/tool": { type: "file" },
  "/usr/bin/plain": { type: "file", perm: 0o644 },
  "/usr/local": { type: "dir" },
  "/usr/local/bin": { type: "dir" },
  "/usr/local/bin/alias": { type: "link", target: "/srv/s.sh" },
  "/usr/local/bin/ok-link": { type: "link", target: "/etc/ka/ok.sh" },
  "/usr/local/bin/suid": { type: "file", perm: 0o4755 },
} as const;
const env = fakeEnv(base);

describe("checkScript", () => {
  it("walks '/' first, then every prefix", () => {
    expect(pathPrefixes("/a/b/c.sh")).toEqual(["/", "/a", "/a/b", "/a/b/c.sh"]);
  });

  it("accepts a root-owned script in root-owned 0755 directories", () => {
    const r = checkScript(["/etc/ka/ok.sh", "x"], 0, 0, true, env);
    expect(r).toMatchObject({ refused: null, isScript: true, insecure: false, argv: ["/etc/ka/ok.sh", "x"] });
    expect(r.messages).toEqual([]);
  });

  it("refuses a root script under a world-writable directory with enable_script_security", () => {
    const r = checkScript(["/srv/s.sh"], 0, 0, true, env);
    expect(r.refused).toEqual({
      code: "UNSAFE",
      message: "Unsafe permissions found for script '/srv/s.sh' - disabling.",
    });
    expect(r.insecure).toBe(true);
  });

  it("only warns without enable_script_security (the script still runs)", () => {
    const r = checkScript(["/srv/s.sh"], 0, 0, false, env);
    expect(r.refused).toBeNull();
    expect(r.insecure).toBe(true);
    expect(r.messages).toEqual(["Unsafe permissions found for script '/srv/s.sh'."]);
  });

  it.each([
    ["/tmp/s.sh", null], // sticky directory is exempt
    ["/grp0/s.sh", null], // group-writable by root's group
    ["/etc/ka/gw0.sh", null],
    ["/grp/s.sh", "UNSAFE"], // group-writable, non-root group
    ["/etc/ka/gw.sh", "UNSAFE"],
    ["/etc/ka/user.sh", "UNSAFE"], // file not owned by root
    ["/home/u/s.sh", "UNSAFE"], // directory not owned by root
  ])("%s as root → %s", (path, code) => {
    expect(checkScript([path], 0, 0, true, env).refused?.code ?? null).toBe(code);
  });

  it("checks the realpath of a symlink too, and runs the resolved file", () => {
    const r = checkScript(["/usr/local/bin/alias", "a"], 0, 0, true, env);
    expect(r.argv).toEqual(["/srv/s.sh", "a"]);
    expect(r.refused?.message).toBe("Unsafe permissions found for script '/srv/s.sh' - disabling.");
    expect(checkScript(["/usr/local/bin/ok-link"], 0, 0, true, env)).toMatchObject({
      refused: null,
      argv: ["/etc/ka/ok.sh"],
    });
  });

  it("gid 0 alone needs protection; a non-root uid:gid does not", () => {
    expect(checkScript(["/srv/s.sh"], 65534, 0, true, env).refused?.code).toBe("UNSAFE");
    expect(checkScript(["/srv/s.sh"], 65534, 65534, true, env).refused).toBeNull();
  });

  it("a setuid-root file is checked even for a non-root user", () => {
    const e = fakeEnv({ ...base, "/srv/suid": { type: "file", perm: 0o4755 } });
    expect(checkScript(["/srv/suid"], 65534, 65534, true, e).refused?.code).toBe("UNSAFE");
    expect(checkScript(["/usr/local/bin/suid"], 65534, 65534, true, e).refused).toBeNull();
  });

  it("refuses a file that is not executable for the uid:gid", () => {
    expect(checkScript(["/etc/ka/noexec.sh"], 0, 0, true, env).refused).toEqual({
      code: "EACCES",
      message: "WARNING - script '/etc/ka/noexec.sh' is not executable for uid:gid 0:0 - disabling.",
    });
    expect(checkScript(["/etc/ka/ownerx.sh"], 0, 0, true, env).refused).toBeNull();
    expect(checkScript(["/etc/ka/ownerx.sh"], 65534, 65534, true, env).refused?.message).toBe(
      "WARNING - script '/etc/ka/ownerx.sh' is not executable for uid:gid 65534:65534 - disabling.",
    );
  });

  it("refuses a missing script and one the user cannot reach", () => {
    expect(checkScript(["/etc/ka/missing.sh"], 0, 0, false, env).refused).toEqual({
      code: "ENOENT",
      message: "Script /etc/ka/missing.sh cannot be accessed - No such file or directory",
    });
    expect(checkScript(["/priv/s.sh"], 0, 0, true, env).refused).toBeNull();
    expect(checkScript(["/priv/s.sh"], 65534, 65534, true, env).refused?.message).toBe(
      "Script /priv/s.sh cannot be accessed - Permission denied",
    );
  });

  it("searches a bare name in PATH as keepalived's find_path", () => {
    const r = checkScript(["tool", "-v"], 0, 0, true, env);
    expect(r.argv).toEqual(["/usr/bin/tool", "-v"]);
    expect(r.messages[0]).toBe(
      "WARNING - script `tool` resolved by path search to `/usr/bin/tool`. Please specify full path.",
    );
    expect(checkScript(["nosuch"], 0, 0, true, env).refused).toEqual({
      code: "ENOENT",
      message: "Cannot find script nosuch in path - disabling",
    });
    expect(checkScript(["plain"], 0, 0, true, env).refused?.message).toBe(
      "Permissions failure for script plain in path - disabling",
    );
  });

  it("refuses a directory given as the script", () => {
    expect(checkScript(["/etc/ka"], 0, 0, true, env).refused).toEqual({
      code: "UNSAFE",
      message: "Wrong file type found in script path '/etc/ka'.",
    });
  });
});
