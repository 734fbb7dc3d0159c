/**
 * The send side of the codec adapter (codec.adapter.ts): a `sendAdvert` command's datagrams, one
 * `Outbound` per destination (the configured multicast group, or each unicast peer at
 * `unicast_ttl`), rendered from the instance's advert template (src/protocol) as keepalived's
 * `vrrp_update_pkt` patches its packet. Deterministic; holds the templates (not pure).
 */
import type { Outbound } from "../../transports/transport.ts";
import {
  type AdvertFields,
  AdvertTemplate,
  encodeAdvert,
  passwordAuthData,
  VRRP_MCAST_GROUP4,
  VRRP_MCAST_GROUP6,
  VRRP_TTL,
} from "../protocol/codec.ts";
import type { InstanceSpec } from "./spec.ts";

/** A configured VIP (`198.18.1.1/24`) as the advert carries it: the address alone. */
export const bareVip = (vip: string): string => vip.split("/")[0] ?? vip;

/** The advert templates of one spec's instances (a reload makes a new codec, and a new one of these). */
export class AdvertOut {
  /** Advert templates by instance name, made on an instance's first send. */
  readonly #templates = new Map<string, TemplateEntry>();

  /**
   * The datagrams of one advert from `spec` at `priority`: the instance's advert template (built on
   * its first send, kept per instance) patched with the priority and checksum, as keepalived's
   * `vrrp_update_pkt` does, and copied out per destination (v3: the checksum covers src and dst).
   * The same bytes as `encodeAdvert` from scratch (test/runtime/advert-template.test.ts). The same
   * frozen datagrams again until the priority changes: read-only bytes (every transport copies or reads).
   */
  outbound(spec: InstanceSpec, priority: number, slot?: TemplateSlot): readonly Outbound[] {
    const template = this.#template(spec, priority, slot);
    if (template === undefined) return this.#render(spec, priority, undefined);
    // A MASTER sends the same advert every advert_int: the same (frozen, read-only) datagrams again.
    if (template.lastPriority !== priority) {
      template.last = this.#render(spec, priority, template.template);
      template.lastPriority = priority;
    }
    return template.last;
  }

  #render(spec: InstanceSpec, priority: number, template: AdvertTemplate | undefined): readonly Outbound[] {
    const p = spec.params;
    const unicast = spec.unicastPeers.length > 0;
    const dsts = unicast
      ? spec.unicastPeers
      : [spec.mcastGroup ?? (p.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6)];
    const ttl = unicast ? (spec.unicastTtl ?? VRRP_TTL) : VRRP_TTL;
    return Object.freeze(
      dsts.map((dst) =>
        Object.freeze({
          bytes:
            template === undefined
              ? encodeAdvert(advertFields(spec, priority), p.family, { src: p.ownIp, dst })
              : template.render(priority, { src: p.ownIp, dst }).slice(),
          family: p.family,
          src: p.ownIp,
          dst,
          ttl,
          ifname: p.ifname,
          vrid: p.vrid,
        }),
      ),
    );
  }

  /**
   * The advert template of `spec` (made on first use, with the same field checks as `encodeAdvert`)
   * and its last datagrams; undefined for a priority outside 0..255, which `encodeAdvert` then
   * rejects with its own error.
   */
  #template(spec: InstanceSpec, priority: number, slot: TemplateSlot | undefined): TemplateEntry | undefined {
    if (!Number.isInteger(priority) || priority < 0 || priority > 255) return undefined;
    if (slot !== undefined && slot.templateOf === this) return slot.template;
    const name = spec.params.name;
    let t = this.#templates.get(name);
    if (t === undefined) {
      t = {
        template: new AdvertTemplate(advertFields(spec, priority), spec.params.family),
        lastPriority: -1,
        last: [],
      };
      this.#templates.set(name, t);
    }
    if (slot !== undefined) {
      slot.templateOf = this;
      slot.template = t;
    }
    return t;
  }
}

/**
 * Where a caller keeps an instance's template entry for the next send (node.ts: on the instance's
 * actor), so that a MASTER's advert needs no lookup by name; valid only for the `AdvertOut` that
 * filled it (`templateOf`), and only ever given with that instance's spec.
 */
export interface TemplateSlot {
  templateOf: object | undefined;
  template: TemplateEntry | undefined;
}

/**
 * An instance's advert template and the datagrams it last rendered, for `lastPriority` (a codec's
 * instances are those of one spec: a reload makes a new codec).
 */
export interface TemplateEntry {
  readonly template: AdvertTemplate;
  lastPriority: number;
  last: readonly Outbound[];
}

/** The advert fields of `spec` at `priority`. */
const advertFields = (spec: InstanceSpec, priority: number): AdvertFields => {
  const p = spec.params;
  return {
    version: p.version,
    vrid: p.vrid,
    priority,
    advertIntervalCs: p.advertIntervalCs,
    addresses: p.vips.map(bareVip),
    ...(spec.authPass === undefined
      ? {}
      : { authType: 1 as const, authData: passwordAuthData(spec.authPass) }),
  };
};
