/**
 * From machine commands to effect actors: turns each effect command (advert, VIPs, routes and
 * rules, GARP / NA, notify, FIFO, log) into the calls of the right actors with what the ports need — an advert's
 * datagrams per destination, VipAddress objects with their configured options (the instance's
 * excluded VIPs follow its VIPs, as keepalived adds, removes and GARPs them together), GARP pacing
 * (`vrrp_garp_interval` for IPv4, `vrrp_gna_interval` for IPv6). Also keepalived's `address_is_ours`
 * for the address watch. Not pure (it calls the actors); `ownerOfDeletedAddress` is pure.
 */

import type { Command } from "../../machines/events.ts";
import type { Outbound } from "../../transports/transport.ts";
import type { Route, Rule } from "../config/types.ts";
import { canonicalAddress } from "../protocol/address.ts";
import type { Actor } from "./actor-registry.ts";
import type { AdvertCodec } from "./codec.adapter.ts";
import type { EffectActors } from "./effect-actors.ts";
import type { Input } from "./input.ts";
import type { VipAddress } from "./ports.ts";
import { defaultVipAddress, type InstanceSpec, staticAddressName, vipAddresses } from "./spec.ts";

export class EffectDispatch {
  constructor(
    private readonly specs: ReadonlyMap<string, InstanceSpec>,
    private readonly codec: AdvertCodec,
    private readonly actors: EffectActors,
    private readonly hasTransport: boolean,
    /** `static_ipaddress`, `static_routes`, `static_rules`: what a command naming no instance ("") names. */
    private readonly statics: {
      readonly addresses: readonly VipAddress[];
      readonly routes: readonly Route[];
      readonly rules: readonly Rule[];
    },
  ) {}

  /**
   * Sends an effect command to its actors (routing messages never come here: tracking.ts). `own`: the
   * actor of the instance the command names, when the caller has it — its spec, and the slot for its
   * advert template (else both are looked up by name).
   */
  dispatch(c: Command, own?: Actor): void {
    switch (c.type) {
      case "sendAdvert": {
        const spec = own?.spec ?? this.specs.get(c.instance);
        if (spec === undefined || !this.hasTransport) return;
        const outs = this.codec.outbound(spec, c.priority, own);
        // (indexed: a for-of over the frozen array made an iterator per advert)
        for (let k = 0; k < outs.length; k++) this.actors.advert(c.instance, outs[k] as Outbound);
        return;
      }
      case "addVips":
      case "removeVips":
        this.actors.vips(c.type, c.instance, this.addresses(c.instance, c.vips));
        return;
      case "addRoutes":
      case "removeRoutes": {
        // "" names the static routes and rules (node-apply.ts), any other an instance's own
        const held = c.instance === "" ? this.statics : this.specs.get(c.instance);
        const byText = <T extends { readonly text: string }>(
          all: readonly T[] | undefined,
          names: readonly string[],
        ) => names.flatMap((n) => all?.find((x) => x.text === n) ?? []);
        this.actors.routes(c.type, c.instance, byText(held?.routes, c.routes), byText(held?.rules, c.rules));
        return;
      }
      case "garp": {
        const spec = this.specs.get(c.instance);
        const ifname = spec?.params.ifname ?? "";
        const addresses =
          c.reason === "ownAddress"
            ? c.vips.map((v) => ({ address: v, dev: ifname, family: v.includes(":") ? 6 : 4 }) as const)
            : this.addresses(c.instance, c.vips);
        this.actors.garp(c.instance, addresses, c.repeat, (family) =>
          family === 4 ? (spec?.garpIntervalUs ?? 0) : (spec?.gnaIntervalUs ?? 0),
        );
        return;
      }
      case "notify":
        this.actors.notify({ scope: c.scope, name: c.name, state: c.state, priority: c.priority });
        return;
      case "fifo":
        this.actors.fifo(c.line);
        return;
      case "log":
        this.actors.log(c.line, c.detail === true, c.severity);
        return;
    }
  }

  /**
   * The VipAddress objects of the VIPs a command names (configured options): the instance's own list
   * (`params.vips`, as the machines name it) means every VIP then the excluded VIPs; any other list
   * (a reload's diff, src/runtime/reload.ts) means exactly those addresses, VIPs or excluded VIPs.
   */
  addresses(instance: string, vips: readonly string[]): readonly VipAddress[] {
    // "" names static addresses (node-apply.ts), by `staticAddressName`
    if (instance === "")
      return vips.flatMap((n) => this.statics.addresses.filter((a) => staticAddressName(a) === n));
    const spec = this.specs.get(instance);
    if (spec === undefined) return vips.map((v) => defaultVipAddress(v, ""));
    const all = vipAddresses(spec);
    if (vips === spec.params.vips) return all;
    return vips.map(
      (v) =>
        all.find((a) => v === a.address || v === `${a.address}/${a.prefixLength}`) ??
        defaultVipAddress(v, spec.params.ifname),
    );
  }
}

/**
 * keepalived_netlink.c `address_is_ours`: among the MASTER instances (in order), the first whose VIPs
 * or excluded VIPs hold the deleted address on that interface; none when that address is `no_track`
 * (the search ends there too). Pure.
 */
export const ownerOfDeletedAddress = (
  masters: ReadonlyArray<{ readonly name: string; readonly spec: InstanceSpec }>,
  input: Extract<Input, { kind: "address" }>,
): string | undefined => {
  const deleted = isDeleted(input);
  for (const m of masters) {
    const hit = vipAddresses(m.spec).find(deleted);
    if (hit !== undefined) return hit.noTrack ? undefined : m.name;
  }
  return undefined;
};

/**
 * keepalived_netlink.c's static address check: the first static address that is not `no_track` and
 * is the deleted one (`addr_is_equal`: family, interface, address). Pure.
 */
export const deletedStaticAddress = (
  statics: readonly VipAddress[],
  input: Extract<Input, { kind: "address" }>,
): VipAddress | undefined => {
  const deleted = isDeleted(input);
  return statics.find((v) => !v.noTrack && deleted(v));
};

/** Whether a configured address is the one an address input deleted. */
const isDeleted = (input: Extract<Input, { kind: "address" }>) => {
  // The kernel reports addresses in canonical form; the configuration may not (`2001:DB8:0::A`).
  const deleted = canonicalAddress(input.address, input.family) ?? input.address;
  return (v: VipAddress): boolean =>
    v.family === input.family &&
    v.dev === input.ifname &&
    (canonicalAddress(v.address, v.family) ?? v.address) === deleted;
};
