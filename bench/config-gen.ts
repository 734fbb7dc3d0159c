/**
 * Generators of the large keepalived.conf files the configuration benchmarks read: the explicit
 * 10,000-instance file and the same scale written with ~SEQ and a block macro. Pure.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: keepalived macros are literally written ${NAME}

export interface GeneratedOptions {
  /** Adds `sync_group_tracking_weight` to every sync group, so neither keepalived nor Vigil warns
   * that the members' track_script weight is ignored (10,000 warnings otherwise). */
  readonly syncGroupTrackingWeight?: boolean;
}

/** 10,000-instance style config: 40 interfaces (eth0..) × 250 VRIDs, 2 VIPs, unicast every 4th. */
export function generated(n: number, options: GeneratedOptions = {}): string {
  const out = [
    "global_defs {\n    router_id BENCH\n    enable_script_security\n    script_user root\n}",
    'vrrp_script chk {\n    script "/usr/bin/pgrep -x haproxy"\n    interval 2\n    weight -20\n}',
  ];
  for (let i = 0; i < n; i++) {
    const vrid = (i % 250) + 1;
    const ifname = `eth${Math.floor(i / 250)}`;
    const a = 18 + Math.floor(i / 65536);
    const b = Math.floor(i / 256) % 256;
    const c = i % 256;
    const unicast =
      i % 4 === 0
        ? `    unicast_src_ip 198.${a}.${b}.${c}\n    unicast_peer {\n        198.19.${b}.${c}\n    }\n`
        : "";
    out.push(
      `vrrp_instance VI_${i} {\n    state BACKUP\n    interface ${ifname}\n    virtual_router_id ${vrid}\n` +
        `    priority ${100 + (i % 100)}\n    advert_int 1\n${unicast}` +
        `    virtual_ipaddress {\n        198.${a}.${b}.${c}/24\n        198.19.${255 - b}.${c}/24 dev ${ifname}\n    }\n` +
        `    track_script {\n        chk\n    }\n    notify /etc/keepalived/notify.sh\n}`,
    );
  }
  const tracking = options.syncGroupTrackingWeight === true ? "    sync_group_tracking_weight\n" : "";
  for (let i = 0; i + 1 < n; i += 2)
    out.push(
      `vrrp_sync_group G_${i} {\n    group {\n        VI_${i}\n        VI_${i + 1}\n    }\n${tracking}}`,
    );
  return `${out.join("\n")}\n`;
}

/** The same scale written as a block macro repeated by nested ~SEQ (VRIDs 1..250 per interface). */
export function generatedSeq(n: number): string {
  return [
    "$INST=\\",
    "vrrp_instance VI_${I}_${V} { \\",
    "    interface eth${I} \\",
    "    virtual_router_id ${V} \\",
    "    virtual_ipaddress { \\",
    "        198.18.${I}.${V}/24 \\",
    "    } \\",
    "}",
    `~SEQ(I,0,${Math.ceil(n / 250) - 1}) ~SEQ(V,1,250) $INST`,
    "",
  ].join("\n");
}
