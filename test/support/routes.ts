/**
 * Route and Rule objects for the tests of the runtime and the route effect (src/config/types.ts):
 * a unicast route to 198.19.5.0/24 via 198.18.5.254 on eth0 and a rule from 198.19.5.0/24 to table
 * 100 at preference 1000, both tracked (protocol 18), each field replaceable. Pure.
 */
import type { Route, Rule } from "../../src/config/types.ts";

export const routeOf = (over: Readonly<Record<string, unknown>> = {}): Route =>
  ({
    text: "prepend 198.19.5.0/24 via inet 198.18.5.254 dev eth0 proto 18",
    family: 4,
    type: 1,
    typeGiven: false,
    dst: "198.19.5.0",
    dstLength: 24,
    from: null,
    src: null,
    via: "198.18.5.254",
    dev: "eth0",
    table: 254,
    protocol: 18,
    scope: null,
    metric: null,
    tos: 0,
    onlink: false,
    mode: "prepend",
    noTrack: false,
    line: 1,
    ...over,
  }) as Route;

export const ruleOf = (over: Readonly<Record<string, unknown>> = {}): Rule =>
  ({
    text: "from 198.19.5.0/24 priority 1000 tos 0x0 protocol 18 lookup 100",
    family: 4,
    invert: false,
    from: { address: "198.19.5.0", family: "ipv4", prefixLength: 24 },
    to: null,
    priority: 1000,
    tos: 0,
    fwmark: null,
    fwmask: null,
    iif: null,
    oif: null,
    protocol: 18,
    action: "table",
    table: 100,
    goto: 0,
    noTrack: false,
    line: 1,
    ...over,
  }) as Rule;
