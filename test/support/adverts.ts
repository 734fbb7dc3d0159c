/**
 * A peer's VRRP advert as the `rx` input the transport delivers: IPv4, from `src` to 224.0.0.18
 * with TTL 255 on eth0, the bytes encoded by the real codec. Pure.
 */
import { type AdvertFields, encodeAdvert } from "../../src/protocol/codec.ts";
import type { Input } from "../../src/runtime/input.ts";

export const peerAdvert = (src: string, fields: AdvertFields): Input => ({
  kind: "rx",
  family: 4,
  src,
  dst: "224.0.0.18",
  ttl: 255,
  ifname: "eth0",
  hex: Buffer.from(encodeAdvert(fields, 4, { src, dst: "224.0.0.18" })).toString("hex"),
});
