/**
 * IP address text <-> bytes for the VRRP codec: IPv4 dotted quads and IPv6 in the canonical RFC 5952
 * form (lower case, longest zero run compressed), so addresses decoded from the wire compare equal to
 * addresses from the configuration after `canonicalAddress`. Parsers return `undefined` for bad text
 * instead of throwing. Pure.
 */

/** Dotted-quad text of the 4 bytes at `off`. */
export const formatIpv4 = (b: Uint8Array, off: number): string =>
  `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;

/** Canonical (RFC 5952) text of the 16 bytes at `off`. */
export function formatIpv6(b: Uint8Array, off: number): string {
  let bestAt = -1;
  let bestLen = 1;
  let runAt = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && (b[off + 2 * i] as number) === 0 && (b[off + 2 * i + 1] as number) === 0;
    if (zero) {
      if (runAt < 0) runAt = i;
    } else if (runAt >= 0) {
      if (i - runAt > bestLen) {
        bestAt = runAt;
        bestLen = i - runAt;
      }
      runAt = -1;
    }
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      out += i === 0 ? "::" : ":";
      i += bestLen - 1;
      continue;
    }
    out += (((b[off + 2 * i] as number) << 8) | (b[off + 2 * i + 1] as number)).toString(16);
    if (i < 7) out += ":";
  }
  return out;
}

/** Parses dotted-quad IPv4 text (`[start, end)` of `text`) into `out` at `off`; false if it is not one. */
export function parseIpv4Into(
  text: string,
  out: Uint8Array,
  off: number,
  start = 0,
  end = text.length,
): boolean {
  let octet = 0;
  let digits = 0;
  let index = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || index > 3) return false;
      out[off + index++] = octet;
      octet = 0;
      digits = 0;
    } else return false;
  }
  return index === 4;
}

/**
 * Parses IPv6 text (with `::`, an optional embedded IPv4 tail and an ignored `%zone`) into `out` at
 * `off`; false if it is not an IPv6 address. Groups are written in order, then the ones after `::`
 * are moved to the end.
 */
export function parseIpv6Into(text: string, out: Uint8Array, off: number): boolean {
  const zone = text.indexOf("%");
  const end = zone < 0 ? text.length : zone;
  if (end === 0) return false;
  let groups = 0;
  let digits = 0;
  let value = 0;
  let gapAt = -1;
  let groupStart = 0;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gapAt = 0;
    i = 2;
    groupStart = 2;
  } else if (text.charCodeAt(0) === 58) return false;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    const h = hexValue(c);
    if (h >= 0) {
      value = value * 16 + h;
      if (++digits > 4) return false;
    } else if (c === 58) {
      if (digits === 0) {
        if (gapAt >= 0) return false;
        gapAt = groups;
      } else {
        if (groups >= 8) return false;
        out[off + 2 * groups] = value >> 8;
        out[off + 2 * groups + 1] = value & 0xff;
        groups++;
        value = 0;
        digits = 0;
      }
      groupStart = i + 1;
    } else if (c === 46) {
      if (groups > 6 || !parseIpv4Into(text, out, off + 2 * groups, groupStart, end)) return false;
      groups += 2;
      digits = 0;
      i = end;
      break;
    } else return false;
  }
  if (digits > 0) {
    if (groups >= 8) return false;
    out[off + 2 * groups] = value >> 8;
    out[off + 2 * groups + 1] = value & 0xff;
    groups++;
  } else if (i === end && text.charCodeAt(end - 1) === 58 && !(end >= 2 && text.charCodeAt(end - 2) === 58)) {
    return false;
  }
  if (gapAt < 0) return groups === 8;
  if (groups > 7) return false;
  const tailBytes = 2 * (groups - gapAt);
  out.copyWithin(off + 16 - tailBytes, off + 2 * gapAt, off + 2 * groups);
  out.fill(0, off + 2 * gapAt, off + 16 - tailBytes);
  return true;
}

/** The address's bytes (4 or 16), or undefined when the text is not an address of that family. */
export function addressBytes(text: string, family: 4 | 6): Uint8Array | undefined {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  const ok = family === 4 ? parseIpv4Into(text, out, 0) : parseIpv6Into(text, out, 0);
  return ok ? out : undefined;
}

/** The canonical text of an address (what the decoder produces), or undefined if it is not one. */
export function canonicalAddress(text: string, family: 4 | 6): string | undefined {
  const b = addressBytes(text, family);
  if (b === undefined) return undefined;
  return family === 4 ? formatIpv4(b, 0) : formatIpv6(b, 0);
}

/** True for 224.0.0.0/4 or ff00::/8 (text in either family; false for non-addresses). */
export function isMulticastAddress(text: string): boolean {
  const c0 = text.charCodeAt(0) | 0x20;
  if (c0 === 0x66 && (text.charCodeAt(1) | 0x20) === 0x66) return text.indexOf(":") >= 2; // ffXX:
  // IPv4: the first octet, 224..239.
  let first = 0;
  let i = 0;
  for (; i < 4; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    first = first * 10 + (c - 48);
  }
  return i > 0 && i < 4 && text.charCodeAt(i) === 46 && first >= 224 && first <= 239;
}

/**
 * Sum of the two 16-bit words of a dotted-quad address, straight from the text (checksum
 * pseudo-headers on the hot path, no allocation); -1 if the text is not an IPv4 address.
 */
export function ipv4WordSum(text: string, start = 0, end = text.length): number {
  let sum = 0;
  let octet = 0;
  let digits = 0;
  let index = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || index > 3) return -1;
      sum += index & 1 ? octet : octet << 8;
      index++;
      octet = 0;
      digits = 0;
    } else return -1;
  }
  return index === 4 ? sum : -1;
}

const hexValue = (c: number): number => {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
};

/**
 * Sum of the eight 16-bit words of an IPv6 address, straight from the text (a `%zone` suffix is
 * ignored). The sum does not depend on where `::` expands, only on the groups. -1 if the text is not
 * an IPv6 address (accepts exactly what `parseIpv6Into` accepts).
 */
export function ipv6WordSum(text: string): number {
  const zone = text.indexOf("%");
  const end = zone < 0 ? text.length : zone;
  let sum = 0;
  let groups = 0;
  let digits = 0;
  let value = 0;
  let doubleColon = false;
  let groupStart = 0;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    doubleColon = true;
    i = 2;
    groupStart = 2;
  } else if (end > 0 && text.charCodeAt(0) === 58) return -1;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    const h = hexValue(c);
    if (h >= 0) {
      value = value * 16 + h;
      if (++digits > 4) return -1;
    } else if (c === 58) {
      if (digits === 0) {
        if (doubleColon) return -1;
        doubleColon = true;
      } else {
        sum += value;
        groups++;
        value = 0;
        digits = 0;
      }
      groupStart = i + 1;
    } else if (c === 46) {
      const v4 = ipv4WordSum(text, groupStart, end);
      if (v4 < 0) return -1;
      sum += v4;
      groups += 2;
      digits = 0;
      i = end;
      break;
    } else return -1;
  }
  if (digits > 0) {
    sum += value;
    groups++;
  } else if (i === end && end > 0 && text.charCodeAt(end - 1) === 58) {
    // Ends in ':' — valid only as the "::" just seen.
    if (!(end >= 2 && text.charCodeAt(end - 2) === 58)) return -1;
  } else if (end === 0) return -1;
  if (doubleColon ? groups > 7 : groups !== 8) return -1;
  return sum;
}
