/**
 * `virtual_server_group NAME { … }`, read as keepalived 2.2.7 reads it (check_data.c
 * alloc_vsg_entry, utils.c inet_stor): each line is `fwmark N [inet|inet6]`, or an address with an
 * optional port (0 or none: no port) written as `IP`, `IP-LAST` (the last IPv4 octet in decimal, the
 * last IPv6 group in hex), `IP-IP2` (a whole range) or `IP/LEN` (a subnet, host bits clear). A bad
 * line is reported with keepalived's text and skipped; a group left without entries, or with IPv4,
 * IPv6 and a fwmark without family, is removed. Also the expansion of an entry into the addresses
 * IPVS gets one service each for (ipvswrapper.c ipvs_group_range_cmd: IPv4 steps through all 32
 * bits, IPv6 through the last 16 only). Pure.
 */

import { addressBytes, formatIpv4, formatIpv6 } from "../../protocol/address.ts";
import type { VsGroupDraft } from "../draft.ts";
import type { Statement } from "../parser.ts";
import type { Family, VsGroupEntry } from "../types.ts";
import { atToken, type Ctx } from "../values.ts";

/** The most IPVS services Vigil expands one group into (keepalived has no limit; a /8 is 16 M). */
export const MAX_GROUP_SERVICES = 65_536;

type Bytes = Uint8Array;

const familyOfText = (text: string): Family => (text.includes(":") ? "ipv6" : "ipv4");

/** inet_pton of the part before any `-` or `/` (inet_stosockaddr). */
function parseBase(text: string, family: Family): Bytes | undefined {
  const cut = text.search(/[-/]/);
  return addressBytes(cut < 0 ? text : text.slice(0, cut), family === "ipv6" ? 6 : 4);
}

/** C's strtoul: optional sign, digits of `base`; the value (negatives wrap, huge saturates) and the rest. */
function strtoul(text: string, base: 10 | 16): { value: bigint; rest: string } {
  const m = (base === 10 ? /^\s*([+-]?)(\d*)/ : /^\s*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]*)/).exec(
    text,
  );
  const digits = m?.[2] ?? "";
  if (digits === "") return { value: 0n, rest: text };
  const max = (1n << 64n) - 1n;
  let v = BigInt(base === 10 ? digits : `0x${digits}`);
  if (v > max) v = max;
  else if (m?.[1] === "-") v = (max + 1n - v) & max;
  return { value: v, rest: text.slice(m?.[0].length ?? 0) };
}

const u32 = (b: Bytes): number =>
  (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
const group16 = (b: Bytes, i: number): number => ((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0);
const setGroup16 = (b: Bytes, i: number, v: number): void => {
  b[2 * i] = (v >> 8) & 0xff;
  b[2 * i + 1] = v & 0xff;
};
const fromU32 = (v: number): Bytes =>
  new Uint8Array([(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
const text = (b: Bytes, family: Family): string => (family === "ipv6" ? formatIpv6(b, 0) : formatIpv4(b, 0));

/** One address line: the entry, or keepalived's message (the line is skipped). */
function addressEntry(
  c: Ctx,
  st: Statement,
): Omit<Extract<VsGroupEntry, { kind: "range" }>, "line"> | undefined {
  const addr = st.keyword.text;
  const portTok = st.args[0];
  // A port of all zeros (or none) is no port (keepalived ≥ 2.0.7).
  const portText = portTok !== undefined && /[^0]/.test(portTok.text) ? portTok.text : null;
  const family = familyOfText(addr);
  const bad = (message: string): undefined => void c.diags.error(st.keyword, "value", message);
  const port = portText === null ? 0 : /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  if (portText !== null && /^\d+$/.test(portText) && !(port <= 65535))
    c.diags.error(st.keyword, "range", `number '${portText}' outside range [1, 65535]`);
  const start = parseBase(addr, family);
  if (!(port >= 0 && port <= 65535) || start === undefined)
    return bad(
      `Invalid virtual server group IP address ${addr} ${portText === null ? "" : `/port/${portText}`} - skipping`,
    );
  const end = new Uint8Array(start);
  const slash = addr.indexOf("/");
  if (slash >= 0) {
    const m = strtoul(addr.slice(slash + 1), 10);
    const mask = m.rest === "" ? Number(m.value) : Number.NaN;
    if (!(mask > 0) || mask > (family === "ipv4" ? 32 : 128))
      return bad(`Invalid netmask - ${addr} - skipping`);
    let hostBitsSet = false;
    if (family === "ipv4" && mask < 32) {
      const host = (2 ** (32 - mask) - 1) >>> 0;
      if ((u32(start) & host) !== 0) hostBitsSet = true;
      else end.set(fromU32((u32(start) | host) >>> 0));
    } else if (family === "ipv6" && mask < 128) {
      const i = Math.floor(mask / 16);
      const bits = (1 << (16 - (mask % 16))) - 1;
      if ((group16(start, i) & bits) !== 0) hostBitsSet = true;
      else {
        setGroup16(end, i, group16(start, i) | bits);
        for (let j = i + 1; j < 8; j++)
          if (group16(start, j) !== 0) hostBitsSet = true;
          else setGroup16(end, j, 0xffff);
      }
    }
    if (hostBitsSet) return bad(`Address mask bits not empty - ${addr} - skipping`);
  } else {
    const dash = addr.indexOf("-");
    const after = dash < 0 ? "" : addr.slice(dash + 1);
    if (dash >= 0 && after.includes(family === "ipv4" ? "." : ":")) {
      const last = parseBase(after, familyOfText(after));
      if (last === undefined) return bad(`Invalid range end ${addr} - skipping`);
      if (familyOfText(after) !== family)
        return bad(`Range address families do not match ${addr} - skipping`);
      let less = family === "ipv4" && u32(last) < u32(start);
      for (let i = 0; family === "ipv6" && i < 8; i++) {
        const d = group16(last, i) - group16(start, i);
        if (d !== 0) {
          less = d < 0;
          break;
        }
      }
      if (less) return bad(`Address range end is less than address range start - ${addr} - skipping`);
      end.set(last);
    } else if (dash >= 0) {
      const r = strtoul(after, family === "ipv6" ? 16 : 10);
      if (r.rest !== "")
        c.diags.error(
          st.keyword,
          "value",
          `Virtual server group range '${addr}' has extra characters at end '${r.rest}'`,
        );
      else if (r.value > (family === "ipv6" ? 0xffffn : 255n))
        return bad(`Virtual server group range '${addr}' end '${after}' too large`);
      const range = Number(r.value & 0xffffn);
      const startLast = family === "ipv6" ? group16(start, 7) : (start[3] ?? 0);
      if (family === "ipv6") setGroup16(end, 7, range);
      else end[3] = range & 0xff;
      if (startLast >= range)
        return bad(`Address range end is not greater than address range start - ${addr} - skipping`);
    }
  }
  return { kind: "range", first: text(start, family) as never, last: text(end, family) as never, port };
}

/** `fwmark N [inet|inet6]`, or keepalived's message. */
function fwmarkEntry(
  c: Ctx,
  st: Statement,
  group: string,
): Omit<Extract<VsGroupEntry, { kind: "fwmark" }>, "line"> | undefined {
  const [markTok, familyTok] = st.args;
  const markText = markTok?.text ?? "";
  if (!/^\d+$/.test(markText) || Number(markText) > 0xffffffff) {
    if (!/^\d+$/.test(markText))
      c.diags.error(markTok ?? st.keyword, "value", `invalid number '${markText}'`);
    return void c.diags.error(
      markTok ?? st.keyword,
      "value",
      `(${group}): fwmark '${markText}' must be in [0, 4294967295] - ignoring`,
    );
  }
  const mark = Number(markText);
  if (familyTok === undefined) return { kind: "fwmark", mark, family: null };
  if (familyTok.text === "inet") return { kind: "fwmark", mark, family: "ipv4" };
  if (familyTok.text === "inet6") return { kind: "fwmark", mark, family: "ipv6" };
  return void c.diags.error(
    familyTok,
    "value",
    `(${group}): fwmark '${mark}' family ${familyTok.text} unknown - ignoring`,
  );
}

/** Reads one `virtual_server_group` block (vsg_handler). */
export function readVirtualServerGroup(c: Ctx, st: Statement): VsGroupDraft | undefined {
  const name = st.args[0]?.text;
  if (name === undefined)
    return void c.diags.error(st.keyword, "value", "virtual_server_group: missing name");
  const g: VsGroupDraft = { name, at: atToken(st.keyword), entries: [], removed: false };
  for (const item of st.block ?? []) {
    const e = item.keyword.text === "fwmark" ? fwmarkEntry(c, item, name) : addressEntry(c, item);
    if (e !== undefined) g.entries.push({ ...e, line: item.keyword.line } as VsGroupEntry);
  }
  const { v4, v6, fwmarkNoFamily } = groupFamilies(g.entries);
  const services = g.entries.reduce((n, e) => n + (e.kind === "range" ? rangeSize(e) : 1), 0);
  if (g.entries.length === 0) {
    c.diags.error(st.keyword, "semantic", `virtual server group ${name} has no entries - removing`);
    g.removed = true;
  } else if (v4 && v6 && fwmarkNoFamily) {
    c.diags.error(
      st.keyword,
      "semantic",
      `virtual server group ${name} cannot have IPv4, IPv6 and fwmark without family - removing`,
    );
    g.removed = true;
  } else if (services > MAX_GROUP_SERVICES) {
    c.diags.error(
      st.keyword,
      "semantic",
      `virtual server group ${name} expands to ${services} IPVS services; Vigil programs at most ${MAX_GROUP_SERVICES} per group - removing`,
    );
    g.removed = true;
  }
  return g;
}

/** The group's address families (keepalived's have_ipv4 / have_ipv6). */
export function groupFamilies(entries: readonly VsGroupEntry[]): {
  v4: boolean;
  v6: boolean;
  fwmarkNoFamily: boolean;
} {
  return {
    v4: entries.some((e) => (e.kind === "range" ? familyOfText(e.first) === "ipv4" : e.family === "ipv4")),
    v6: entries.some((e) => (e.kind === "range" ? familyOfText(e.first) === "ipv6" : e.family === "ipv6")),
    fwmarkNoFamily: entries.some((e) => e.kind === "fwmark" && e.family === null),
  };
}

/** How many services a range entry is (ipvs_group_range_cmd's loop, IPv6 wrapping in its last group). */
export function rangeSize(e: Extract<VsGroupEntry, { kind: "range" }>): number {
  const family = familyOfText(e.first);
  const a = addressBytes(e.first, family === "ipv6" ? 6 : 4) as Bytes;
  const b = addressBytes(e.last, family === "ipv6" ? 6 : 4) as Bytes;
  return family === "ipv4" ? u32(b) - u32(a) + 1 : ((group16(b, 7) - group16(a, 7) + 0x10000) % 0x10000) + 1;
}

/** The addresses of a range entry, in keepalived's order. */
export function* rangeAddresses(e: Extract<VsGroupEntry, { kind: "range" }>): Generator<string> {
  const family = familyOfText(e.first);
  const a = addressBytes(e.first, family === "ipv6" ? 6 : 4) as Bytes;
  const n = rangeSize(e);
  if (family === "ipv4") for (let i = 0; i < n; i++) yield formatIpv4(fromU32((u32(a) + i) >>> 0), 0);
  else {
    const cur = new Uint8Array(a);
    for (let i = 0; i < n; i++) {
      setGroup16(cur, 7, (group16(a, 7) + i) & 0xffff);
      yield formatIpv6(cur, 0);
    }
  }
}
