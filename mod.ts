/**
 * `rtr` as a library: the RPKI-to-Router protocol (RFC 6810, RFC 8210, draft-ietf-sidrops-8210bis)
 * for TypeScript on Deno. The command line (`main.ts`) is built from these same pieces.
 *
 * - **Wire**: encode and decode every PDU of versions 0–2, frame a byte stream, or pipe a
 *   connection through {@link PduDecodeStream}.
 * - **Router side**: {@link syncOnce} fetches a cache's table once; {@link follow} keeps a
 *   session in sync with the RFC timing; {@link ClientSession} and {@link FollowMachine} are the
 *   sans-I/O machines under them.
 * - **Cache side**: {@link RtrServer} serves a {@link PayloadTable} to routers; {@link RtrCache}
 *   is its sans-I/O core (serial history and encoded responses).
 * - **Transport**: {@link connect} (TCP, TLS), {@link memoryPair} for tests, and the
 *   {@link RtrConn} interface every driver consumes.
 * - **Data**: {@link PayloadTable}, {@link VrpSet}, table readers and writers, SLURM, and route
 *   origin validation ({@link RovIndex}).
 * - **Conformance**: {@link runProbe} checks a cache scenario by scenario ({@link SCENARIOS}),
 *   as `rtr probe` does.
 *
 * @example Fetch a cache's table once and count what it holds
 * ```ts
 * import { syncOnce, tableCounts } from "./mod.ts";
 *
 * const { result } = await syncOnce({ host: "127.0.0.1", port: 8282, version: 2 });
 * if (result) console.log(tableCounts(result.table));
 * ```
 *
 * @module
 */

// Wire: PDUs, codes, codec, framing.
export {
  type AspaPdu,
  type CacheResetPdu,
  type CacheResponsePdu,
  decodePdu,
  encodePdu,
  encodePdus,
  type EndOfDataPdu,
  ErrorCode,
  errorName,
  type ErrorReportPdu,
  type Pdu,
  type PduCallback,
  PduFramer,
  PduType,
  type PrefixPdu,
  type ResetQueryPdu,
  type RouterKeyPdu,
  type SerialNotifyPdu,
  type SerialQueryPdu,
} from "./lib/wire/mod.ts";
export { type PduBatch, PduDecodeStream } from "./lib/wire/decode_stream.ts";

// Errors.
export {
  DecodeError,
  InputError,
  PeerError,
  RtrError,
  TransportError,
  UsageError,
} from "./lib/errors.ts";

// Time.
export { type Clock, systemClock, type TimerHandle } from "./lib/clock.ts";

// Router side.
export {
  ClientSession,
  type RawBytes,
  type ResumeState,
  type SessionEvent,
  type SessionOptions,
  type SyncResult,
} from "./lib/session/mod.ts";
export {
  type FollowAction,
  type FollowEvent,
  FollowMachine,
  type FollowMachineOptions,
} from "./lib/session/follow_machine.ts";
export { type NegotiationStep, type VersionNegotiation } from "./lib/session/negotiation.ts";
export { type Progress, syncOnce, type SyncOptions, type SyncOutcome } from "./lib/client.ts";
export { follow, type FollowOptions } from "./lib/follower.ts";

// Cache side.
export {
  type AspaLayout,
  type CacheConnection,
  type CacheOptions,
  type CacheOutput,
  type Response,
  RtrCache,
  type UpdateResult,
} from "./lib/cache/mod.ts";
export { RtrServer, type ServerOptions } from "./lib/server.ts";

// Transport.
export {
  connect,
  type ConnectOptions,
  type Dialer,
  type Endpoint,
  fromDenoConn,
  fromDenoListener,
  memoryPair,
  type RtrConn,
  type RtrListener,
  type WireTap,
} from "./lib/transport.ts";

// Payload model.
export {
  type Aspa,
  diffTables,
  emptyTable,
  makeTable,
  type PayloadTable,
  type RouterKey,
  type TableCounts,
  tableCounts,
  type TableDiff,
  type Timers,
  type Vrp,
  VrpSet,
} from "./lib/model/mod.ts";
export {
  applySlurm,
  type AspaFilter,
  type BgpsecFilter,
  parseSlurm,
  type PrefixFilter,
  type Slurm,
} from "./lib/model/slurm.ts";

// Table files.
export {
  type LoadedTable,
  OUTPUT_FORMATS,
  type OutputFormat,
  parseTableText,
  readTableFile,
  type TableMeta,
  writeTable,
} from "./lib/formats/mod.ts";
export {
  type Release,
  type RouterVersions,
  type RouterWriteOptions,
} from "./lib/formats/router_version.ts";
export { type ByteWriter, TextSink } from "./lib/io/mod.ts";

// Validation.
export {
  type InvalidReason,
  type Route,
  RovIndex,
  type RovResult,
  type RovState,
} from "./lib/rov/mod.ts";

// ASPA path verification (draft-ietf-sidrops-aspa-verification).
export {
  AspaExplanation,
  AspaIndex,
  type AspaIndexParts,
  type AspaInvalidReason,
  type AspaProcedure,
  type AspaState,
  describeExplanation,
  type HopResult,
  type NeighbourRole,
  type ParsedRoute,
  parsePathLine,
  type PathLine,
  type PathRoute,
  type PathSegment,
  type VerifyOptions,
} from "./lib/rov/mod.ts";
