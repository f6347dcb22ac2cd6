/**
 * The history store's delta algebra (RFC 8210 §5.5–5.7 announce / withdraw semantics): the one
 * owner is lib/model/delta.ts, re-used here by import so the store and the cache compose alike.
 */
export {
  applyDelta,
  aspaValueId,
  composeDeltas,
  emptyDelta,
  exactDiff,
  exactFromNet,
  invertDelta,
  netDiff,
  tableAsDelta,
} from "../model/delta.ts";
