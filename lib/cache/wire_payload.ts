/**
 * The payload a cache serves, checked and prepared for the wire: VRP max lengths within their
 * bounds (RFC 8210 §5.6, §5.7), router keys decoded to their SKI and SPKI bytes and in 8210bis
 * §11.2 order (RFC 8210 §5.10), ASPA provider lists as the current layout requires (8210bis §5.12).
 * A table that cannot go on the wire is refused here, before it is served.
 */
import { InputError } from "../errors.ts";
import { MAX_PDU_LENGTH } from "../wire/mod.ts";
import {
  compareWireRouterKeys,
  fromBase64,
  fromHex,
  type RouterKey,
  routerKeyId,
  type VrpSet,
  W,
} from "../model/mod.ts";

/** A router key ready for the wire. */
export interface WireKey {
  asn: number;
  ski: Uint8Array;
  spki: Uint8Array;
  /** The model's identity of the key (`routerKeyId`). */
  id: string;
}

function wireKey(k: RouterKey): WireKey {
  const ski = fromHex(k.ski);
  if (!ski || ski.length !== 20) {
    throw new InputError(
      `Cannot serve router key of AS${k.asn}: SKI ${JSON.stringify(k.ski)} is not 40 hex digits`,
    );
  }
  const spki = fromBase64(k.pubkey);
  if (!spki || spki.length === 0 || 32 + spki.length > MAX_PDU_LENGTH) {
    throw new InputError(
      `Cannot serve router key of AS${k.asn}: public key is not base64 of 1 to ${
        MAX_PDU_LENGTH - 32
      } bytes`,
    );
  }
  return { asn: k.asn, ski, spki, id: routerKeyId(k) };
}

/** Router keys decoded for the wire, in §11.2 order; a key that cannot be encoded throws. */
export function wireKeys(keys: readonly RouterKey[]): WireKey[] {
  return keys.map(wireKey).sort(compareWireRouterKeys);
}

/** Refuse VRPs that cannot go on the wire (max length outside prefix length..32 or 128). */
export function checkVrps(set: VrpSet): void {
  const d = set.data, n = set.size;
  for (let i = 0; i < n; i++) {
    const meta = d[i * W];
    const bits = meta >>> 16 === 1 ? 128 : 32;
    const len = (meta >>> 8) & 255, max = meta & 255;
    if (len > bits || max < len || max > bits) {
      const v = set.at(i);
      throw new InputError(
        `Cannot serve VRP ${v.prefix} AS${v.asn}: max length is ${max}, expected ${len} to ${bits}`,
      );
    }
  }
}

/** Providers as the current layout requires: at least one, no AS0 among several. */
export function wireProviders(p: number[]): number[] {
  if (p.length === 0) return [0];
  if (p.length > 1 && p.includes(0)) return p.filter((x) => x !== 0);
  return p;
}
