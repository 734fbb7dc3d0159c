/**
 * Trackers keepalived removes at start (a tracked script that is not found, a track_interface that
 * does not exist without `dynamic_interfaces`) are dropped from every instance and sync group by
 * the config adapter, so they can hold nothing in FAULT. Pure (reads the real file system only to
 * find that the script is missing).
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { nodeScriptEnv } from "../../src/effects/script-security.ts";
import { specFromConfig } from "../../src/runtime/config.adapter.ts";
import { disabledScripts } from "../../src/trackers/probes.ts";
import { memFs } from "../config/memfs.ts";

const text = [
  "global_defs {\n    enable_script_security\n    script_user root\n}",
  'vrrp_script missing {\n    script "/nonexistent-vigil/missing.sh"\n    weight 0\n}',
  "vrrp_sync_group G1 {\n    group {\n        VI_1\n    }\n    track_script {\n        missing\n    }\n}",
  "vrrp_instance VI_1 {",
  "    state BACKUP",
  "    interface eth0",
  "    virtual_router_id 51",
  "    priority 150",
  "    track_script {\n        missing\n    }",
  "    track_interface {\n        vgabsent0\n    }",
  "    virtual_ipaddress {\n        198.18.0.100/24\n    }",
  "}",
  "",
].join("\n");

const config = (): Config => {
  const r = loadConfig("k.conf", { configId: "t", fs: memFs({ "k.conf": text }) });
  if (r.config === undefined) throw new Error(JSON.stringify(r.diagnostics));
  return r.config;
};

describe("trackers removed at start", () => {
  it("a tracked script that does not exist is disabled", () => {
    expect(disabledScripts(config(), nodeScriptEnv())).toEqual(["missing"]);
  });

  it("removed trackers leave every instance and group binding, and the tracker list", () => {
    const before = specFromConfig(config());
    const names = (s: typeof before) => s.instances[0]?.tracking.map((t) => t.tracker);
    expect(names(before)).toContain("missing");
    expect(names(before)).toContain("vgabsent0");
    const after = specFromConfig(config(), {
      primaryAddress: () => "198.18.0.1",
      removedTrackers: new Set(["missing", "vgabsent0"]),
    });
    expect(names(after)).toEqual(["eth0"]);
    expect(after.trackers.map((t) => t.name)).toEqual(["eth0"]);
    expect(JSON.stringify(after.instances)).not.toContain("missing");
  });
});
