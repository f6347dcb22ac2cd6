/**
 * Plain values for every RTR PDU of versions 0, 1 and 2 (RFC 6810 §5, RFC 8210 §5, 8210bis
 * §5). Decoding produces these; encoding consumes them. Addresses are kept as 32-bit words (one
 * for IPv4, four for IPv6) so that the hot path never builds strings.
 */

/** Serial Notify (type 0), cache to router. */
export interface SerialNotifyPdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 0;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
  /** Session ID of the cache (RFC 8210 §5.2). */
  sessionId: number;
  /** The cache's new Serial Number (RFC 8210 §5.2). */
  serial: number;
}

/** Serial Query (type 1), router to cache. */
export interface SerialQueryPdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 1;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
  /** Session ID of the data the router holds (RFC 8210 §5.3). */
  sessionId: number;
  /** Serial Number of the data the router holds (RFC 8210 §5.3). */
  serial: number;
}

/** Reset Query (type 2), router to cache. */
export interface ResetQueryPdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 2;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
}

/** Cache Response (type 3). */
export interface CacheResponsePdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 3;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
  /** Session ID of the data that follows (RFC 8210 §5.5). */
  sessionId: number;
}

/** IPv4 Prefix (type 4) or IPv6 Prefix (type 6). */
export interface PrefixPdu {
  /** PDU Type: 4 for IPv4, 6 for IPv6 (RFC 8210 §5.6, §5.7). */
  type: 4 | 6;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
  /** 1 = announce, 0 = withdraw (bit 0 of the flags octet; reserved bits dropped on decode). */
  flags: number;
  /** Prefix Length in bits. */
  prefixLength: number;
  /** Max Length in bits (RFC 8210 §5.6). */
  maxLength: number;
  /** Address as big-endian 32-bit words (1 for IPv4, 4 for IPv6), host bits masked. */
  addr: number[];
  /** Origin Autonomous System Number. */
  asn: number;
  /** True when the received address had bits set beyond the prefix length (now masked). */
  hostBits?: boolean;
}

/** End of Data (type 7); timers are absent in version 0 and required from version 1. */
export interface EndOfDataPdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 7;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
  /** Session ID of the response (RFC 8210 §5.8). */
  sessionId: number;
  /** Serial Number the response brings the router to (RFC 8210 §5.8). */
  serial: number;
  /** Refresh Interval, seconds (RFC 8210 §6). */
  refresh?: number;
  /** Retry Interval, seconds (RFC 8210 §6). */
  retry?: number;
  /** Expire Interval, seconds (RFC 8210 §6). */
  expire?: number;
}

/** Cache Reset (type 8). */
export interface CacheResetPdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 8;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
}

/** Router Key (type 9, versions 1 and 2). */
export interface RouterKeyPdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 9;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
  /** 1 = announce, 0 = withdraw (reserved flag bits dropped on decode). */
  flags: number;
  /** Subject Key Identifier, 20 octets. */
  ski: Uint8Array;
  /** Autonomous System Number the key belongs to (RFC 8210 §5.10). */
  asn: number;
  /** DER subjectPublicKeyInfo. */
  spki: Uint8Array;
}

/** Error Report (type 10). */
export interface ErrorReportPdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 10;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
  /** Error Code, one of `ErrorCode` (RFC 8210 §12). */
  errorCode: number;
  /** Encapsulated erroneous PDU (may be empty). */
  pdu: Uint8Array;
  /** Diagnostic text, decoded as UTF-8 (a trailing NUL, as StayRTR sends, is removed). */
  text: string;
}

/** ASPA (type 11, version 2), current 8210bis layout or StayRTR 0.5.1's legacy layout. */
export interface AspaPdu {
  /** PDU Type (RFC 8210 §5.1). */
  type: 11;
  /** Protocol Version of the PDU (RFC 8210 §5.1). */
  version: number;
  /** 1 = announce, 0 = withdraw (reserved flag bits dropped on decode). */
  flags: number;
  /** Customer Autonomous System ID (8210bis §5.12). */
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
