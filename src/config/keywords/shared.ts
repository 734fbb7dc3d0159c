/**
 * Keyword handlers shared by several blocks: tracker reference blocks (`track_script { chk weight
 * -20 reverse }` and friends), notify commands, GARP timing, and Vigil's `vigil_transport`
 * extension. Pure.
 */

import type { Mutable, NotifyDraft, TrackDrafts, TrackRefDraft } from "../draft.ts";
import type { Statement } from "../parser.ts";
import type { Garp } from "../types.ts";
import { DEFAULT_UDP_PORT, type Transport } from "../types.ts";
import type { KeywordSpec, KeywordTable } from "../values.ts";
import {
  arg,
  type Ctx,
  onWhateverFollows,
  partlyUnsupported,
  readCommand,
  readInt,
  readUnsigned,
  trueFalseKeyword,
  UINT32_MAX,
  unsupportedTrueFalse,
  unsupportedValueBlock,
  valueBlock,
} from "../values.ts";

/**
 * The `NAME [weight W [reverse|noreverse]]` lines of a track_* block, kept as written: their options
 * are read in resolve-instance.ts (`resolveRefs`) after the name is known to be defined and not a
 * duplicate, in the order keepalived reads them.
 */
export function readTrackRefs(ctx: Ctx, st: Statement, into: TrackRefDraft[]): void {
  for (const item of valueBlock(ctx, st))
    into.push({ name: item.keyword.text, args: item.args, at: item.keyword });
}

export const trackKeywords = <S extends { name: string; track: TrackDrafts }>(): KeywordTable<S> => ({
  track_interface: {
    block: true,
    handle: (c, st, s) => readTrackRefs(c, st, s.track.interfaces),
  },
  track_script: { block: true, handle: (c, st, s) => readTrackRefs(c, st, s.track.scripts) },
  track_process: { block: true, handle: (c, st, s) => readTrackRefs(c, st, s.track.processes) },
  track_file: { block: true, handle: (c, st, s) => readTrackRefs(c, st, s.track.files) },
  track_bfd: unsupportedValueBlock("BFD is not implemented"),
});

/** The name keepalived gives a notify script in its "already specified" message. */
const NOTIFY_LABEL: Readonly<Record<keyof NotifyDraft, string>> = {
  master: "notify_master script",
  backup: "notify_backup script",
  fault: "notify_fault script",
  stop: "notify_stop script",
  deleted: "notify_deleted",
  masterRxLowerPri: "notify_master_rx_lower_pri script",
  generic: "notify script",
};

/**
 * A notify script: keepalived keeps the first one given and reports a repeat (`(VI_1)
 * notify_master script already specified - ignoring X`; in a sync group `vrrp group G: …`).
 * `notify_deleted` may be bare (no script): keepalived then only flags the instance.
 */
const notifyKw = <S extends { name: string; notify: NotifyDraft; notifyDeletedFlag?: boolean }>(
  key: keyof NotifyDraft,
  owner: (name: string) => string,
): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    if (s.notify[key] !== undefined || (key === "deleted" && s.notifyDeletedFlag === true)) {
      c.diags.warn(
        st.args[0] ?? st.keyword,
        "semantic",
        `${owner(s.name)} ${NOTIFY_LABEL[key]} already specified - ignoring ${st.args[0]?.text ?? ""}`,
      );
      return;
    }
    if (key === "deleted" && st.args.length === 0) {
      s.notifyDeletedFlag = true;
      c.diags.warn(
        st.keyword,
        "unsupported",
        `'notify_deleted' without a script is parsed but not acted on by Vigil yet (an instance removed by a reload is notified FAULT, not DELETED)`,
      );
      return;
    }
    const cmd = readCommand(c, st);
    if (cmd !== undefined) s.notify[key] = cmd;
  },
});

export const notifyKeywords = <S extends { name: string; notify: NotifyDraft; notifyDeletedFlag?: boolean }>(
  owner: (name: string) => string = (n) => `(${n})`,
): KeywordTable<S> => ({
  notify_master: notifyKw("master", owner),
  notify_backup: notifyKw("backup", owner),
  notify_fault: notifyKw("fault", owner),
  notify_stop: notifyKw("stop", owner),
  notify_deleted: notifyKw("deleted", owner),
  notify_master_rx_lower_pri: notifyKw("masterRxLowerPri", owner),
  notify: notifyKw("generic", owner),
  smtp_alert: unsupportedTrueFalse(
    "SMTP alerts are not sent",
    (w) => `Invalid vrrp_instance smtp_alert parameter ${w}`,
  ),
});

type GarpKey = keyof Garp;
type GarpState = { garp: Partial<Mutable<Garp>> };
/** Whose GARP setting a message names: `(VI_1): ` in an instance, nothing in global_defs. */
type GarpOwner<S> = (s: S) => string;

const garpValue = <S extends GarpState>(s: S, key: GarpKey, v: number): void => {
  (s.garp as Record<string, number>)[key] = v;
};

/** A GARP delay in whole seconds (keepalived: unsigned, up to 2^32 / 10^6). */
const garpDelay = <S extends GarpState>(key: GarpKey, owner: GarpOwner<S>): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const t = arg(c, st);
    if (t === undefined) return;
    const v = readUnsigned(c, t, 0, Math.floor(UINT32_MAX / 1e6), true);
    if (v === undefined)
      c.diags.error(t, "range", `${owner(s)}${st.keyword.text} '${t.text}' invalid - ignoring`);
    else garpValue(s, key, v * 1e6);
  },
});

/** A GARP repeat count: 0 is reported and taken as 1 (`repeat`), or kept (`lower_prio_repeat`). */
const garpCount = <S extends GarpState>(
  key: GarpKey,
  owner: GarpOwner<S>,
  lowerPrio = false,
): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const t = arg(c, st);
    if (t === undefined) return;
    const kw = st.keyword.text;
    const v = readUnsigned(c, t, 0, lowerPrio ? 2_147_483_647 : UINT32_MAX, true);
    if (v === undefined)
      return void c.diags.error(
        t,
        "range",
        lowerPrio
          ? `${owner(s)}Invalid ${kw} '${t.text}'`
          : `${owner(s)}${kw} '${t.text}' invalid - ignoring`,
      );
    if (v === 0 && !lowerPrio)
      c.diags.warn(t, "value", `${owner(s)}${kw} must be greater than 0, setting to 1`);
    garpValue(s, key, v === 0 && !lowerPrio ? 1 : v);
  },
});

/** `garp_master_refresh`: an invalid value turns the refresh off (0), as keepalived does. */
const garpRefresh = <S extends GarpState>(owner: GarpOwner<S>): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const t = arg(c, st);
    if (t === undefined) return;
    const v = readUnsigned(c, t, 0, UINT32_MAX, true);
    if (v === undefined)
      c.diags.error(t, "range", `${owner(s)}Invalid ${st.keyword.text} '${t.text}' - ignoring`);
    garpValue(s, "masterRefreshUs", (v ?? 0) * 1e6);
  },
});

/**
 * `garp_extra_if [all] SECONDS`, checked as keepalived checks it (vrrp_garp_extra_if_handler; in
 * global_defs vrrp_vmac_garp_extra_if_handler, from 1 s): words `all` or seconds up to 86400, and a
 * time is needed. Not acted on.
 */
const garpExtraIf = <S extends GarpState>(owner: GarpOwner<S>, min: number): KeywordSpec<S> => ({
  handle: (c, st, s) => {
    const kw = st.keyword.text;
    let time = false;
    for (const w of st.args) {
      if (w.text === "all") continue;
      if (readUnsigned(c, w, min, 86400, true) === undefined)
        return void c.diags.error(w, "range", `${owner(s)}${kw} '${w.text}' invalid - ignoring`);
      time = true;
    }
    if (!time) c.diags.error(st.keyword, "value", `${owner(s)}${kw} specified without time - ignoring`);
  },
});

/**
 * GARP keywords; `prefix` is `vrrp_` in global_defs and empty in an instance, `owner` how keepalived's
 * messages name the instance (vrrp_parser.c / global_parser.c `vrrp_garp_*_handler`: ranges,
 * texts and what an invalid value leaves).
 */
export const garpKeywords = <S extends GarpState>(prefix: string, owner: GarpOwner<S>): KeywordTable<S> => {
  const extraIf = partlyUnsupported<S>(
    garpExtraIf(owner, prefix === "" ? 0 : 1),
    "GARPs on extra interfaces are not sent",
  );
  return {
    [`${prefix}garp_master_delay`]: garpDelay<S>("masterDelayUs", owner),
    [`${prefix}garp_master_repeat`]: garpCount<S>("masterRepeat", owner),
    [`${prefix}garp_master_refresh`]: garpRefresh<S>(owner),
    [`${prefix}garp_master_refresh_repeat`]: garpCount<S>("masterRefreshRepeat", owner),
    [`${prefix}garp_lower_prio_delay`]: garpDelay<S>("lowerPrioDelayUs", owner),
    [`${prefix}garp_lower_prio_repeat`]: garpCount<S>("lowerPrioRepeat", owner, true),
    [`${prefix}garp_extra_if`]: extraIf,
    // its name before keepalived 2.2.3: the same handler, which reports it deprecated first
    [`${prefix}vmac_garp_intvl`]: {
      handle: (c, st, s) => {
        c.diags.warn(
          st.keyword,
          "semantic",
          `Keyword "${prefix}vmac_garp_intvl" is deprecated - please use "${prefix}garp_extra_if"`,
        );
        extraIf.handle(c, st, s);
      },
    },
  };
};

/** Vigil extension: `vigil_transport raw` | `vigil_transport udp [port N]`. */
export function readTransport(ctx: Ctx, st: Statement): Transport | undefined {
  ctx.diags.warn(
    st.keyword,
    "extension",
    `'vigil_transport' is a Vigil extension; keepalived reports it as an unknown keyword`,
  );
  const [kind, portKw, portTok, ...extra] = st.args;
  if (kind === undefined || (kind.text !== "raw" && kind.text !== "udp")) {
    ctx.diags.error(kind ?? st.keyword, "value", `vigil_transport: expected 'raw' or 'udp [port N]'`);
    return undefined;
  }
  if (kind.text === "raw") return { kind: "raw" };
  if (portKw === undefined) return { kind: "udp", port: DEFAULT_UDP_PORT };
  if (portKw.text !== "port" || portTok === undefined || extra.length > 0) {
    ctx.diags.error(portKw, "value", `vigil_transport: expected 'udp port N'`);
    return undefined;
  }
  const port = readInt(ctx, portTok, 1, 65535);
  return port === undefined ? undefined : { kind: "udp", port };
}

/** A check_true_false flag setting `state[key]`; `invalid` words keepalived's message (see trueFalseKeyword). */
export const flag = <S, K extends keyof S>(key: K, invalid: (word: string, s: S) => string): KeywordSpec<S> =>
  trueFalseKeyword<S>((s, v) => {
    (s as Record<K, unknown>)[key] = v;
  }, invalid);

/** A flag keepalived's handler turns on whatever follows it (see onWhateverFollows). */
export const flagOn = <S, K extends keyof S>(key: K): KeywordSpec<S> =>
  onWhateverFollows<S>((s) => {
    (s as Record<K, unknown>)[key] = true;
  });
