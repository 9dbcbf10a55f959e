/**
 * Read committed done right for kafkajs 2.2.4. A Fetch response lists the aborted transactions overlapping the range
 * it returns (producer id and first offset); a read_committed consumer must drop the records of those transactions.
 * kafkajs's filter gets two things wrong: it takes the list in the order the broker sends it, which is the order the
 * transactions ended in, not the order they started in; and it moves on by at most one aborted transaction per
 * record. With several producers writing transactions to one partition (one producer per input partition of a
 * processor) and some of them aborted together (a processor restarted after SIGKILL), records of an aborted
 * transaction then reach the consumer, and so do aborted changelog records in a restore. This filter does what the
 * Java consumer does: the aborted transactions sorted by first offset, every one that started at or before a record
 * counted before the record is judged, a producer's abort marker ending its aborted transaction.
 */

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]); // control record key: version 0, type 0 (abort)

export interface FetchedRecordLike {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** The records of a partition's fetch that are not part of an aborted transaction (control records are kept). */
export function dropAbortedRecords<M extends FetchedRecordLike>(messages: readonly M[], aborted: readonly AbortedTransaction[] | undefined): M[] {
  if (!aborted || aborted.length === 0) return messages as M[];
  const starts = [...aborted].map((a) => ({ producerId: a.producerId, first: BigInt(a.firstOffset) })).sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const open = new Set<string>();
  let next = 0;
  const kept: M[] = [];
  for (const m of messages) {
    const offset = BigInt(m.offset);
    while (next < starts.length && starts[next]!.first <= offset) open.add(starts[next++]!.producerId);
    const { producerId, inTransaction } = m.batchContext;
    if (m.isControlRecord) {
      if (m.key && ABORT_MARKER_KEY.equals(m.key)) open.delete(producerId);
      kept.push(m);
    } else if (!(inTransaction && open.has(producerId))) kept.push(m);
  }
  return kept;
}

interface ParsedFetch {
  responses?: Array<{ partitions?: Array<{ messages?: FetchedRecordLike[]; abortedTransactions?: AbortedTransaction[] }> }>;
}

/** A parsed Fetch response with the aborted records dropped here, and no aborted list left for kafkajs to misuse. */
export function dropAbortedInResponse<T>(parsed: T): T {
  const r = parsed as ParsedFetch;
  for (const topic of r.responses ?? []) {
    for (const p of topic.partitions ?? []) {
      if (!p.abortedTransactions?.length || !p.messages) continue;
      p.messages = dropAbortedRecords(p.messages, p.abortedTransactions);
      p.abortedTransactions = [];
    }
  }
  return parsed;
}
