/**
 * Tracker and sync-group blocks: `vrrp_script`, `vrrp_track_process`, `track_file` (alias
 * `vrrp_track_file`) and `vrrp_sync_group` (docs/keepalived-reference.md §2.2–2.3), with keepalived's defaults.
 * Pure.
 */
import type { FileDraft, ProcessDraft, ScriptDraft, SyncGroupDraft } from "../draft.ts";
import type { Statement } from "../parser.ts";
import {
  arg,
  argOrSkip,
  type Ctx,
  type KeywordSpec,
  type KeywordTable,
  partlyUnsupported,
  readCommand,
  readInt,
  readSecondsUs,
  readUnsigned,
  strtolInt,
  UINT32_MAX,
  unsupportedTrueFalse,
  valueBlock,
  walk,
} from "../values.ts";
import { flag, flagOn, notifyKeywords, trackKeywords } from "./shared.ts";

/**
 * `weight W [reverse]` in a tracker's definition, with keepalived 2.2.7's texts and outcomes
 * (vrrp_parser.c `vrrp_vscript_weight_handler`, `vrrp_tprocess_weight_handler`; track_file.c
 * `track_file_weight_handler`). A bad W: a script keeps the number its text starts with, in range
 * or not (keepalived stores `(int)strtol`: 300 stays 300, 0 for no number), a process ignores the
 * line, a file's weight goes back to 1 and its `reverse` is still read. Only `reverse` is a word
 * after W (`no_reverse` is reported, as any other); a later `weight` line does not clear it.
 */
function readWeight(ctx: Ctx, st: Statement, kind: "script" | "process" | "file", s: WeightDraft): void {
  const t =
    kind === "script"
      ? arg(ctx, st, 0, "weight")
      : argOrSkip(ctx, st, `No weight specified for track ${kind} ${s.name} - ignoring`);
  if (t === undefined) return;
  const max = kind === "script" ? 253 : 254;
  const label = DEFINITION_BLOCK[kind];
  const w = readInt(ctx, t, -max, max, true);
  if (w !== undefined) s.weight = w;
  else if (kind === "script") {
    ctx.diags.error(t, "range", `${label} ${s.name} weight ${t.text} must be in [-253, 253]`);
    s.weight = strtolInt(t.text);
  } else {
    ctx.diags.error(
      t,
      "range",
      `Weight (${t.text}) for ${label} ${s.name} must be between [-254..254] inclusive. Ignoring...`,
    );
    if (kind === "process") return;
    s.weight = 1;
  }
  const r = st.args[1];
  if (r === undefined) return;
  if (r.text === "reverse") s.reverse = true;
  else ctx.diags.warn(r, "unknown-keyword", `${label} ${s.name} unknown weight option ${r.text}`);
}

/** How keepalived names each tracker's block in these messages. */
const DEFINITION_BLOCK = {
  script: "vrrp_script",
  process: "vrrp_track_process",
  file: "track_file",
} as const;

/** The part of a tracker's draft its `weight` line sets. */
interface WeightDraft {
  readonly name: string;
  weight: number;
  reverse: boolean;
}

/** What keepalived reads a script's interval and timeout into: seconds that fit 2^32 µs. */
const SCRIPT_SECONDS_MAX = Math.floor(UINT32_MAX / 1e6);

/** `rise` / `fall`: 1 to 2^31 - 1; anything else is reported and taken as 1. */
const riseFall = (key: "rise" | "fall"): KeywordSpec<ScriptDraft> => ({
  handle: (c, st, s) => {
    const t = arg(c, st);
    if (t === undefined) return;
    const v = readUnsigned(c, t, 1, 2_147_483_647, true);
    if (v === undefined)
      c.diags.error(t, "range", `(${s.name}): vrrp script ${key} value '${t.text}' invalid, defaulting to 1`);
    s[key] = v ?? 1;
  },
});

export const scriptKeywords: KeywordTable<ScriptDraft> = {
  script: {
    handle: (c, st, s) => {
      // vrrp_vscript_script_handler says nothing of a missing command ("No script set" follows).
      const cmd = readCommand(c, st, 0, null, "none");
      if (cmd !== undefined) {
        // The script's user comes from its own `user` keyword (or script_user), not from this line.
        s.command = { ...cmd, user: s.command.user, group: s.command.group };
        s.hasScript = true;
      }
    },
  },
  // vrrp_parser.c vrrp_vscript_interval_handler / _timeout_handler: whole seconds up to 2^32 / 10^6;
  // 0 is reported and taken as 1.
  interval: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 0, SCRIPT_SECONDS_MAX, true);
      if (v === undefined)
        return void c.diags.error(
          t,
          "range",
          `(${s.name}): vrrp script interval '${t.text}' must be between 1 and ${SCRIPT_SECONDS_MAX} - ignoring`,
        );
      if (v === 0)
        c.diags.warn(t, "value", `(${s.name}): vrrp script interval must be greater than 0, setting to 1`);
      s.intervalUs = Math.max(1, v) * 1_000_000;
    },
  },
  timeout: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 0, SCRIPT_SECONDS_MAX, true);
      if (v === undefined)
        return void c.diags.error(
          t,
          "range",
          `(${s.name}): vrrp script timeout '${t.text}' invalid - ignoring`,
        );
      if (v === 0)
        c.diags.warn(t, "value", `(${s.name}): vrrp script timeout must be greater than 0, setting to 1`);
      s.timeoutUs = Math.max(1, v) * 1_000_000;
      s.timeoutSet = true;
    },
  },
  weight: { handle: (c, st, s) => readWeight(c, st, "script", s) },
  rise: riseFall("rise"),
  fall: riseFall("fall"),
  user: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "user");
      if (t !== undefined) s.command = { ...s.command, user: t.text, group: st.args[1]?.text ?? null };
    },
  },
  init_fail: flagOn("initFail"),
};

export function readScript(ctx: Ctx, st: Statement, s: ScriptDraft): void {
  walk(ctx, st.block ?? [], scriptKeywords, s);
  if (!s.hasScript)
    // vrrp_vscript_end_handler, at the block's end
    ctx.diags.error(st.close ?? st.keyword, "semantic", `No script set for vrrp_script ${s.name} - removing`);
  if (!s.timeoutSet) s.timeoutUs = s.intervalUs;
}

/** `delay`, `fork_delay`, `terminate_delay`: 1 µs to 3600 s (vrrp_tprocess_delay_general). */
const secondsKw = (key: "delayUs" | "forkDelayUs" | "terminateDelayUs", prefix: string) => ({
  handle: (c: Ctx, st: Statement, s: ProcessDraft) => {
    const t = arg(c, st);
    if (t === undefined) return;
    const v = readSecondsUs(c, t, 1, 3600_000_000);
    if (v === undefined)
      c.diags.error(
        t,
        "range",
        `${prefix}delay (${t.text}) for vrrp_track_process ${s.name} must be between [0.000001..3600] inclusive. Ignoring...`,
      );
    else s[key] = v;
  },
});

export const processKeywords: KeywordTable<ProcessDraft> = {
  process: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "process name");
      if (t === undefined) return;
      if (s.process !== "")
        return void c.diags.warn(
          t,
          "semantic",
          `Process already set for track process ${s.name} - ignoring ${t.text}`,
        );
      s.process = t.text;
      s.args =
        st.args.length > 1
          ? st.args
              .slice(1)
              .map((a) => a.text)
              .join(" ")
          : null;
    },
  },
  // vrrp_tprocess_match_handler: bare is exact matching; each accepted form matches the full command.
  param_match: {
    handle: (c, st, s) => {
      const t = st.args[0];
      if (t === undefined) {
        s.fullCommand = true;
        c.diags.warn(
          st.keyword,
          "unsupported",
          "'param_match' without a type is parsed but not acted on by Vigil yet (keepalived then requires a process without arguments when none are given; Vigil matches any)",
        );
      } else if (t.text === "initial" || t.text === "partial") {
        s.paramMatch = t.text;
        s.fullCommand = true;
      } else
        c.diags.error(
          t,
          "value",
          `Invalid param_match type ${t.text} - ignoring`,
          "expected initial or partial",
        );
    },
  },
  full_command: flagOn("fullCommand"),
  weight: {
    handle: (c, st, s) => {
      // keepalived: a non-zero weight, once set, is kept
      if (s.weight !== 0 && st.args[0] !== undefined)
        return void c.diags.warn(
          st.args[0],
          "semantic",
          `Weight already set for track process ${s.name} - ignoring ${st.args[0].text}`,
        );
      readWeight(c, st, "process", s);
    },
  },
  // vrrp_parser.c vrrp_tprocess_quorum_handler / _quorum_max_handler: each checked against the other
  // as it is read; quorum_max 0 makes the quorum 0 (the process must not run).
  quorum: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 1, 65535, true);
      if (v === undefined)
        c.diags.error(
          t,
          "range",
          `Quorum (${t.text}) for vrrp_track_process ${s.name} must be between [1..65535] inclusive. Ignoring...`,
        );
      else if (s.quorumMax !== null && v > s.quorumMax)
        c.diags.error(t, "semantic", "Quorum is greater than quorum_max - ignoring");
      else s.quorum = v;
    },
  },
  quorum_max: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 0, 65535, true);
      if (v === undefined)
        c.diags.error(
          t,
          "range",
          `quorum_max (${t.text}) for vrrp_track_process ${s.name} must be between [0..65535] inclusive. Ignoring...`,
        );
      else if ((v > 0 || s.quorum > 1) && v < s.quorum)
        c.diags.error(t, "semantic", "quorum_max is less than quorum - ignoring");
      else {
        s.quorumMax = v;
        if (v === 0) s.quorum = 0;
        else if (s.quorum === 0) s.quorum = 1;
      }
    },
  },
  delay: secondsKw("delayUs", ""),
  fork_delay: secondsKw("forkDelayUs", "fork_"),
  terminate_delay: secondsKw("terminateDelayUs", "terminate_"),
};

/** Reads a `vrrp_track_process` block; false when keepalived's end handler drops the tracker. */
export function readProcess(ctx: Ctx, st: Statement, s: ProcessDraft): boolean {
  walk(ctx, st.block ?? [], processKeywords, s);
  if (s.process !== "") return true;
  // vrrp_tprocess_end_handler, at the block's end: the tracker is freed, so tracking it is "not found"
  ctx.diags.error(st.close ?? st.keyword, "semantic", `track process '${s.name}' process name not specified`);
  return false;
}

export const fileKeywords: KeywordTable<FileDraft> = {
  file: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "path");
      if (t === undefined) return;
      if (s.path !== "")
        return void c.diags.warn(
          t,
          "semantic",
          `File already set for track file ${s.name} - ignoring ${t.text}`,
        );
      s.path = t.text;
    },
  },
  weight: {
    handle: (c, st, s) => {
      // keepalived: a weight other than the default 1, once set, is kept
      if (s.weight !== 1 && st.args[0] !== undefined)
        return void c.diags.warn(
          st.args[0],
          "semantic",
          `Weight already set for track file ${s.name} - ignoring ${st.args[0].text}`,
        );
      readWeight(c, st, "file", s);
    },
  },
  init_file: {
    // keepalived's track_file_init_handler: every word is a value (a digit or '-' first), `overwrite`,
    // or an unknown option; the last value wins.
    handle: (c, st, s) => {
      s.initValue = 0;
      for (const w of st.args) {
        if (/^[0-9-]/.test(w.text)) {
          const n = /^-?[0-9]+$/.test(w.text) ? Number(w.text) : Number.NaN;
          if (!Number.isSafeInteger(n) || n < -2147483648 || n > 2147483647) {
            c.diags.warn(w, "value", `Track file ${s.name} init value ${w.text} is invalid`);
            s.initValue = 0;
          } else {
            if (n < -254 || n > 254)
              c.diags.warn(
                w,
                "value",
                `Track file ${s.name} init value ${n} is outside sensible range [-254, 254]`,
              );
            s.initValue = n;
          }
        } else if (w.text === "overwrite") s.initOverwrite = true;
        else c.diags.warn(w, "unknown-keyword", `Unknown track file init option ${w.text}`);
      }
    },
  },
};

export function readFileTracker(ctx: Ctx, st: Statement, s: FileDraft): void {
  walk(ctx, st.block ?? [], fileKeywords, s);
  if (s.path === "") ctx.diags.error(st.keyword, "semantic", `track_file ${s.name}: no file specified`);
}

/** A sync group has no notify_deleted or notify_master_rx_lower_pri in keepalived 2.2.7. */
const {
  notify_deleted: _d,
  notify_master_rx_lower_pri: _r,
  ...syncGroupNotify
} = notifyKeywords<SyncGroupDraft>((n) => `vrrp group ${n}:`);

export const syncGroupKeywords: KeywordTable<SyncGroupDraft> = {
  group: {
    block: true,
    handle: (c, st, s) => {
      if (s.members.length > 0)
        return void c.diags.warn(
          st.keyword,
          "semantic",
          `Group list already specified for sync group ${s.name}`,
          "the second list is skipped",
        );
      for (const item of valueBlock(c, st))
        for (const t of [item.keyword, ...item.args]) s.members.push({ value: t.text, at: t });
      if (s.members.length === 0)
        c.diags.warn(st.keyword, "semantic", `Warning - sync group ${s.name} has empty group block`);
    },
  },
  sync_group_tracking_weight: flagOn("trackingWeight"),
  notify_priority_changes: partlyUnsupported<SyncGroupDraft>(
    flag(
      "notifyPriorityChanges",
      (w, s: SyncGroupDraft) =>
        `(${s.name}) Invalid value '${w}' for sync group notify_priority_changes specified`,
    ),
    "a sync group's priority-change FIFO lines are not written; set it in the instances",
  ),
  global_tracking: {
    handle: (c, st, s) => {
      // vrrp_parser.c: a CONFIG_GENERAL_ERROR, and the group's tracking weight is on whatever follows
      c.diags.error(
        st.keyword,
        "semantic",
        `(${s.name}) global_tracking is deprecated. Use track_interface/script/file on the sync group`,
        "use sync_group_tracking_weight",
      );
      flagOn<SyncGroupDraft, "trackingWeight">("trackingWeight").handle(c, st, s);
    },
  },
  ...trackKeywords<SyncGroupDraft>(),
  ...syncGroupNotify,
  smtp_alert: unsupportedTrueFalse(
    "SMTP alerts are not sent",
    (w) => `Invalid vrrp_group smtp_alert parameter ${w}`,
  ),
};

export function readSyncGroup(ctx: Ctx, st: Statement, s: SyncGroupDraft): void {
  walk(ctx, st.block ?? [], syncGroupKeywords, s);
}
