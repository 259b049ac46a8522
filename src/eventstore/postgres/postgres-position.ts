import type { Position } from "../event-store.js";

/**
 * A PostgreSQL event's place in the global log is the pair (tx_id, global_seq) (see postgres-schema.ts); the port's
 * Position is one bigint, so the pair is packed into it.
 */

const SEQ_BITS = 64n;
const SEQ_MASK = (1n << SEQ_BITS) - 1n;

/** (tx_id, global_seq) packed into one bigint that orders exactly like the pair. */
export function encodePosition(txId: string, globalSeq: string): Position {
  return (BigInt(txId) << SEQ_BITS) | BigInt(globalSeq);
}

/** The (tx_id, global_seq) pair of a position, as decimal strings for the query. */
export function decodePosition(position: Position): [string, string] {
  if (position <= 0n) return ["0", "0"];
  return [(position >> SEQ_BITS).toString(), (position & SEQ_MASK).toString()];
}
