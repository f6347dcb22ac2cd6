/**
 * RTR wire constants: PDU types, error codes, protocol versions and size limits
 * (RFC 6810 §5, RFC 8210 §5 and §12, draft-ietf-sidrops-8210bis).
 */

/** Highest protocol version this implementation speaks (8210bis). */
export const MAX_VERSION = 2;
/** Largest PDU accepted in any version (8210bis §5.1; rtrlib RTR_MAX_PDU_LEN). */
export const MAX_PDU_LENGTH = 65535;
/** Length of the common PDU header. */
export const HEADER_LENGTH = 8;

/** PDU type numbers. */
export const PduType = {
  SerialNotify: 0,
  SerialQuery: 1,
  ResetQuery: 2,
  CacheResponse: 3,
  Ipv4Prefix: 4,
  Ipv6Prefix: 6,
  EndOfData: 7,
  CacheReset: 8,
  RouterKey: 9,
  ErrorReport: 10,
  Aspa: 11,
} as const;
/** A PDU type number. */
export type PduTypeNumber = (typeof PduType)[keyof typeof PduType];

/** Human names of PDU types, as the RFCs spell them. */
export const PDU_NAMES: Record<number, string> = {
  0: "Serial Notify",
  1: "Serial Query",
  2: "Reset Query",
  3: "Cache Response",
  4: "IPv4 Prefix",
  6: "IPv6 Prefix",
  7: "End of Data",
  8: "Cache Reset",
  9: "Router Key",
  10: "Error Report",
  11: "ASPA",
};

/** Name of a PDU type, or `type N` when unknown. */
export function pduName(type: number): string {
  return PDU_NAMES[type] ?? `type ${type}`;
}

/** Error codes (RFC 8210 §12; 8210bis adds 9 to 13): the one place that names them. */
export const ErrorCode = {
  CorruptData: 0,
  InternalError: 1,
  NoDataAvailable: 2,
  InvalidRequest: 3,
  UnsupportedProtocolVersion: 4,
  UnsupportedPduType: 5,
  WithdrawalOfUnknownRecord: 6,
  DuplicateAnnouncement: 7,
  UnexpectedProtocolVersion: 8,
  AspaProviderListError: 9,
  TransportError: 10,
  OrderingError: 11,
  CacheRestart: 12,
  CacheShutdown: 13,
} as const;

/** Human names of error codes. */
export const ERROR_NAMES: Record<number, string> = {
  0: "Corrupt Data",
  1: "Internal Error",
  2: "No Data Available",
  3: "Invalid Request",
  4: "Unsupported Protocol Version",
  5: "Unsupported PDU Type",
  6: "Withdrawal of Unknown Record",
  7: "Duplicate Announcement Received",
  8: "Unexpected Protocol Version",
  9: "ASPA Provider List Error",
  10: "Transport Error",
  11: "Ordering Error",
  12: "Cache Restart",
  13: "Cache Shutdown",
};

/** Name of an error code, or `unknown error code N`. */
export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `unknown error code ${code}`;
}

/** Highest error code defined in a protocol version (v0: 7, v1: 8, v2: 13). */
export function maxErrorCode(version: number): number {
  return version === 0 ? 7 : version === 1 ? 8 : 13;
}

/** Clamp an error code to one that exists in `version` (Corrupt Data otherwise). */
export function errorCodeFor(version: number, code: number): number {
  return code <= maxErrorCode(version) ? code : ErrorCode.CorruptData;
}

/** True when PDU `type` is defined in protocol `version`. */
export function typeInVersion(type: number, version: number): boolean {
  if (type === PduType.RouterKey) return version >= 1;
  if (type === PduType.Aspa) return version >= 2;
  return type in PDU_NAMES;
}

/** Announce flag (bit 0 of the flags octet; other bits reserved and ignored). */
export const FLAG_ANNOUNCE = 1;
