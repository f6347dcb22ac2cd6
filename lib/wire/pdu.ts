/**
 * Plain values for every RTR PDU of versions 0, 1 and 2 (RFC 6810 §5, RFC 8210 §5, 8210bis
 * §5). Decoding produces these; encoding consumes them. Addresses are kept as 32-bit words (one
 * for IPv4, four for IPv6) so that the hot path never builds strings.
 */

/** Serial Notify (type 0), cache to router. */
export interface SerialNotifyPdu {
  type: 0;
  version: number;
  sessionId: number;
  serial: number;
}

/** Serial Query (type 1), router to cache. */
export interface SerialQueryPdu {
  type: 1;
  version: number;
  sessionId: number;
  serial: number;
}

/** Reset Query (type 2), router to cache. */
export interface ResetQueryPdu {
  type: 2;
  version: number;
}

/** Cache Response (type 3). */
export interface CacheResponsePdu {
  type: 3;
  version: number;
  sessionId: number;
}

/** IPv4 Prefix (type 4) or IPv6 Prefix (type 6). */
export interface PrefixPdu {
  type: 4 | 6;
  version: number;
  /** 1 = announce, 0 = withdraw (bit 0 of the flags octet; reserved bits dropped on decode). */
  flags: number;
  prefixLength: number;
  maxLength: number;
  /** Address as big-endian 32-bit words (1 for IPv4, 4 for IPv6), host bits masked. */
  addr: number[];
  asn: number;
  /** True when the received address had bits set beyond the prefix length (now masked). */
  hostBits?: boolean;
}

/** End of Data (type 7); timers are absent in version 0 and required from version 1. */
export interface EndOfDataPdu {
  type: 7;
  version: number;
  sessionId: number;
  serial: number;
  refresh?: number;
  retry?: number;
  expire?: number;
}

/** Cache Reset (type 8). */
export interface CacheResetPdu {
  type: 8;
  version: number;
}

/** Router Key (type 9, versions 1 and 2). */
export interface RouterKeyPdu {
  type: 9;
  version: number;
  /** 1 = announce, 0 = withdraw (reserved flag bits dropped on decode). */
  flags: number;
  /** Subject Key Identifier, 20 octets. */
  ski: Uint8Array;
  asn: number;
  /** DER subjectPublicKeyInfo. */
  spki: Uint8Array;
}

/** Error Report (type 10). */
export interface ErrorReportPdu {
  type: 10;
  version: number;
  errorCode: number;
  /** Encapsulated erroneous PDU (may be empty). */
  pdu: Uint8Array;
  /** Diagnostic text, decoded as UTF-8 (a trailing NUL, as StayRTR sends, is removed). */
  text: string;
}

/** ASPA (type 11, version 2), current 8210bis layout or StayRTR 0.5.1's legacy layout. */
export interface AspaPdu {
  type: 11;
  version: number;
  /** 1 = announce, 0 = withdraw (reserved flag bits dropped on decode). */
  flags: number;
  customer: number;
  /** Provider ASNs as sent (empty for a current-layout withdraw). */
  providers: number[];
  /** Present for the legacy draft layout: its AFI flags octet. */
  legacyAfi?: number;
}

/** Any RTR PDU. */
export type Pdu =
  | SerialNotifyPdu
  | SerialQueryPdu
  | ResetQueryPdu
  | CacheResponsePdu
  | PrefixPdu
  | EndOfDataPdu
  | CacheResetPdu
  | RouterKeyPdu
  | ErrorReportPdu
  | AspaPdu;

/** PDUs that carry a payload record (prefix, router key, ASPA). */
export type PayloadPdu = PrefixPdu | RouterKeyPdu | AspaPdu;
