/**
 * The host's tracker probes for one configuration, composed: every `vrrp_script`, interface,
 * `vrrp_track_process` and `track_file` that something tracks (the trackers of `specFromConfig`)
 * gets its probe, and every result goes to one `sink` as a `probe` or `link` input for the node's
 * queue (journaled there, so trackers replay and simulate). `initialInputs` reads what keepalived
 * knows before its instances start — the real link state of every tracked interface, each tracked
 * file's value (after `init_file`), each tracked process count — to be fed before `node.start()`.
 * Scripts go through the one process runner after the same security checks as notify scripts
 * (`scriptIdentity` + `checkScript`); a refused script is not run (keepalived removes it from the
 * instances: the caller must drop its bindings, see `disabledScripts`). Not pure: starts processes,
 * opens netlink sockets and inotify watches; `stop()` ends them all.
 */
import { catchError, EMPTY, merge, type Observable, type Subscription } from "rxjs";
import type { Config } from "../config/types.ts";
import type { ProcessRunner } from "../effects/process-runner.ts";
import { checkScript, type ScriptEnv, scriptIdentity, userFailure } from "../effects/script-security.ts";
import type { Clock } from "../runtime/clock.ts";
import { specFromConfig } from "../runtime/config.adapter.ts";
import type { Input } from "../runtime/input.ts";
import { fileProbe$, initTrackFile, readTrackFile } from "./file.probe.ts";
import {
  debounceLinks,
  existingLinks,
  type LinkDelays,
  type LinkProbeOptions,
  linkEvents$,
  readLinkStates,
} from "./link.probe.ts";
import { type ProcessMatcher, processProbeSpec, processProbes$, scanProcesses } from "./process.probe.ts";
import { type ProbeLog, type ScriptProbeSpec, scriptProbe$ } from "./script.probe.ts";

export interface ProbeDeps {
  readonly clock: Clock;
  readonly runner: ProcessRunner;
  readonly env: ScriptEnv;
  readonly log: ProbeLog;
  /** rtnetlink socket opener / reply timeout (tests, namespaces). */
  readonly rtnl?: LinkProbeOptions;
  /** Bound on the /proc scan rate for track_process (default 1000 ms). */
  readonly processScanIntervalMs?: number;
  /** Injected /proc scan (tests). */
  readonly processScan?: (matchers: readonly ProcessMatcher[]) => Map<string, number>;
  /** Gathering window for file change events (default 20 ms). */
  readonly fileSettleMs?: number;
  /** Observes inotify watchers opening/closing (tests assert none is left after stop). */
  readonly onWatcher?: (open: boolean) => void;
  /** Trackers the host removed from every instance (see `AdapterOptions.removedTrackers`): not probed. */
  readonly removedTrackers?: ReadonlySet<string>;
}

export interface RunningProbes {
  stop(): void;
}

/** Names of the tracked trackers by kind. */
function trackedNames(
  config: Config,
  removedTrackers?: ReadonlySet<string>,
): Record<"script" | "link" | "process" | "file", Set<string>> {
  const out = {
    script: new Set<string>(),
    link: new Set<string>(),
    process: new Set<string>(),
    file: new Set<string>(),
  };
  const spec = specFromConfig(config, removedTrackers === undefined ? {} : { removedTrackers });
  for (const t of spec.trackers) out[t.kind].add(t.name);
  return out;
}

/** The script probes that may run, and keepalived's lines for those that may not. */
export function scriptProbeSpecs(
  config: Config,
  env: ScriptEnv,
): { specs: ScriptProbeSpec[]; refused: Array<{ name: string; messages: string[] }> } {
  const names = trackedNames(config).script;
  const specs: ScriptProbeSpec[] = [];
  const refused: Array<{ name: string; messages: string[] }> = [];
  for (const s of config.scripts) {
    if (!names.has(s.name)) continue;
    const id = scriptIdentity(s.command, config.global, env);
    if ("error" in id) {
      refused.push({
        name: s.name,
        messages: [
          ...id.messages,
          userFailure(
            { where: `${s.name} vrrp_script`, kind: "vrrp_script", command: s.command },
            s.command.user === null && config.global.scriptUser === null,
          ),
        ],
      });
      continue;
    }
    const checked = checkScript(s.command.argv, id.uid, id.gid, config.global.enableScriptSecurity, env);
    if (checked.refused !== null) {
      const why =
        checked.refused.code === "UNSAFE"
          ? `Disabling track script ${s.name} due to insecure`
          : `Disabling track script ${s.name} since not found/accessible`;
      refused.push({ name: s.name, messages: [...checked.messages, why] });
      continue;
    }
    const intervalMs = Math.max(1000, Math.round(s.intervalUs / 1000));
    specs.push({
      name: s.name,
      argv: checked.argv,
      uid: id.uid,
      gid: id.gid,
      intervalMs,
      timeoutMs: s.timeoutUs > 0 ? Math.round(s.timeoutUs / 1000) : intervalMs,
    });
  }
  return { specs, refused };
}

/** Tracked scripts that will not run (keepalived drops them from every instance's tracking). */
export const disabledScripts = (config: Config, env: ScriptEnv): string[] =>
  scriptProbeSpecs(config, env).refused.map((r) => r.name);

/**
 * keepalived's handling of a `track_interface` that does not exist at start (vrrp_track.c
 * alloc_track_if): without `dynamic_interfaces` it is logged `(VI_1) tracked interface X doesn't
 * exist`, and keepalived then stops (`Non-existent interface specified in configuration`): its name
 * is returned here for the caller to refuse to start; with
 * `dynamic_interfaces` it is logged `Configuration specifies interface X which doesn't currently
 * exist - will use if created` and tracked as down until it appears.
 */
export async function missingTrackedInterfaces(
  config: Config,
  deps: { readonly log: ProbeLog; readonly rtnl?: LinkProbeOptions },
): Promise<string[]> {
  const own = new Set(config.instances.map((i) => i.interface ?? config.global.defaultInterface));
  const refs: Array<{ owner: string; name: string }> = [];
  for (const i of config.instances)
    for (const r of i.trackInterfaces) refs.push({ owner: i.name, name: r.name });
  for (const g of config.syncGroups)
    for (const r of g.trackInterfaces) refs.push({ owner: g.name, name: r.name });
  const candidates = refs.filter((r) => !own.has(r.name));
  if (candidates.length === 0) return [];
  const present = await existingLinks(deps.rtnl);
  const missing = new Set<string>();
  for (const r of candidates) {
    if (present.has(r.name)) continue;
    if (config.global.dynamicInterfaces) {
      if (!missing.has(r.name))
        deps.log(
          `Configuration specifies interface ${r.name} which doesn't currently exist - will use if created`,
          false,
        );
      missing.add(r.name);
      continue;
    }
    deps.log(`(${r.owner}) tracked interface ${r.name} doesn't exist`, false);
    missing.add(r.name);
  }
  return config.global.dynamicInterfaces ? [] : [...missing].sort();
}

/** The real state of every tracked interface (own interfaces included), as `link` inputs. */
export async function initialLinkInputs(
  config: Config,
  deps: { readonly rtnl?: LinkProbeOptions; readonly removedTrackers?: ReadonlySet<string> } = {},
): Promise<Input[]> {
  const names = [...trackedNames(config, deps.removedTrackers).link].sort();
  const states = await readLinkStates(names, deps.rtnl);
  return names.map((ifname) => ({ kind: "link", ifname, up: states.get(ifname) ?? false }));
}

/**
 * Everything to feed before `node.start()`: `init_file` is applied first (as keepalived does at
 * config time), then the link states, each tracked file's value and each tracked process count.
 */
export async function initialInputs(
  config: Config,
  deps: Pick<ProbeDeps, "log" | "rtnl" | "processScan" | "removedTrackers">,
): Promise<Input[]> {
  const names = trackedNames(config, deps.removedTrackers);
  const out: Input[] = await initialLinkInputs(config, deps);
  for (const f of config.files) {
    if (!names.file.has(f.name)) continue;
    const err = initTrackFile(f);
    if (err !== null) deps.log(err, false);
    const r = readTrackFile(f.path);
    if ("invalid" in r) deps.log(`Invalid number ${r.invalid} read from ${f.path} - ignoring`, false);
    else out.push({ kind: "probe", tracker: f.name, ok: true, value: r.value });
  }
  const procs = config.processes.filter((p) => names.process.has(p.name)).map(processProbeSpec);
  if (procs.length > 0) {
    const counts = (deps.processScan ?? ((m: readonly ProcessMatcher[]) => scanProcesses(m)))(
      procs.map((p) => p.matcher),
    );
    for (const p of procs) {
      const n = counts.get(p.matcher.name) ?? 0;
      const ok = n >= p.quorum && (p.quorumMax === null || n <= p.quorumMax);
      out.push({ kind: "probe", tracker: p.matcher.name, ok, running: n });
    }
  }
  return out;
}

/** Starts every probe; results go to `sink` in arrival order. `stop()` kills and closes everything. */
export function startProbes(config: Config, sink: (input: Input) => void, deps: ProbeDeps): RunningProbes {
  const names = trackedNames(config, deps.removedTrackers);
  const streams: Observable<Input>[] = [];
  const { specs, refused } = scriptProbeSpecs(config, deps.env);
  for (const r of refused) for (const m of r.messages) deps.log(m, false);
  for (const s of specs) streams.push(scriptProbe$(s, deps));
  if (names.link.size > 0) {
    const delays = new Map<string, LinkDelays>(
      config.interfaceDelays.map((d) => [
        d.interface,
        { downDelayUs: d.downDelayUs, upDelayUs: d.upDelayUs },
      ]),
    );
    streams.push(debounceLinks(linkEvents$([...names.link].sort(), deps.rtnl), delays, deps));
  }
  const procs = config.processes.filter((p) => names.process.has(p.name)).map(processProbeSpec);
  if (procs.length > 0)
    streams.push(
      processProbes$(procs, {
        clock: deps.clock,
        log: deps.log,
        ...(deps.processScanIntervalMs === undefined ? {} : { scanIntervalMs: deps.processScanIntervalMs }),
        ...(deps.processScan === undefined ? {} : { scan: deps.processScan }),
      }),
    );
  for (const f of config.files)
    if (names.file.has(f.name))
      streams.push(
        fileProbe$(
          { name: f.name, path: f.path },
          {
            clock: deps.clock,
            log: deps.log,
            ...(deps.fileSettleMs === undefined ? {} : { settleMs: deps.fileSettleMs }),
            ...(deps.onWatcher === undefined ? {} : { onWatcher: deps.onWatcher }),
          },
        ),
      );
  // One failing probe (e.g. a netlink socket error) is logged and ends alone; the others go on.
  const guarded = streams.map((s) =>
    s.pipe(
      catchError((e: unknown) => {
        deps.log(`Tracker probe stopped: ${e instanceof Error ? e.message : String(e)}`, false);
        return EMPTY;
      }),
    ),
  );
  let sub: Subscription | undefined = merge(...guarded).subscribe(sink);
  return {
    stop: () => {
      sub?.unsubscribe();
      sub = undefined;
    },
  };
}
