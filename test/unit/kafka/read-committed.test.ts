import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { dropAbortedInResponse, dropAbortedRecords, type FetchedRecordLike } from '../../../src/kafka/read-committed.js';

const require = createRequire(import.meta.url);
const kafkajsFilter = require('kafkajs/src/consumer/filterAbortedMessages.js') as (a: { messages: FetchedRecordLike[]; abortedTransactions: unknown[] }) => FetchedRecordLike[];

const rec = (offset: number, producerId: string, value: string): FetchedRecordLike & { value: string } => ({
  offset: String(offset), key: Buffer.from(value), value, isControlRecord: false, batchContext: { producerId, inTransaction: true },
});
const marker = (offset: number, producerId: string, type: 0 | 1): FetchedRecordLike & { value: string } => ({
  offset: String(offset), key: Buffer.from([0, 0, 0, type]), value: type === 0 ? `abort ${producerId}` : `commit ${producerId}`, isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

// Three producers writing transactions to one partition; 7 and 8 were aborted together (after a SIGKILL), 9 committed.
// The broker lists aborted transactions in the order they ended: 8 before 7 here.
const log = [
  rec(0, '7', 'a7-1'), rec(1, '8', 'a8-1'), rec(2, '9', 'c9-1'), rec(3, '7', 'a7-2'), rec(4, '8', 'a8-2'),
  marker(5, '8', 0), marker(6, '7', 0), rec(7, '9', 'c9-2'), marker(8, '9', 1), rec(9, '7', 'c7-1'), marker(10, '7', 1),
];
const aborted = [{ producerId: '8', firstOffset: '1' }, { producerId: '7', firstOffset: '0' }];
const data = (list: FetchedRecordLike[]) => list.filter((m) => !m.isControlRecord).map((m) => (m as unknown as { value: string }).value);

describe('read committed (aborted transactions dropped from a fetch)', () => {
  it('drops every record of the aborted transactions, in whatever order the broker lists them, and keeps the committed ones', () => {
    expect(data(dropAbortedRecords(log, aborted))).toEqual(['c9-1', 'c9-2', 'c7-1']);
    expect(data(dropAbortedRecords(log, [...aborted].reverse()))).toEqual(['c9-1', 'c9-2', 'c7-1']);
    // kafkajs 2.2.4's own filter lets aborted records through here (the reason this one exists).
    expect(data(kafkajsFilter({ messages: log, abortedTransactions: aborted }))).not.toEqual(['c9-1', 'c9-2', 'c7-1']);
  });

  it('a fetch that starts inside several aborted transactions drops them all from its first record on', () => {
    const tail = log.slice(4); // the fetch begins at offset 4 (a record of 8): both aborted transactions began before it
    expect(data(dropAbortedRecords(tail, [{ producerId: '7', firstOffset: '0' }, { producerId: '8', firstOffset: '1' }]))).toEqual(['c9-2', 'c7-1']);
    expect(data(kafkajsFilter({ messages: tail, abortedTransactions: [{ producerId: '7', firstOffset: '0' }, { producerId: '8', firstOffset: '1' }] }))).toContain('a8-2');
  });

  it('rewrites a parsed Fetch response in place and leaves kafkajs no aborted list to apply again', () => {
    const parsed = { responses: [{ topicName: 't', partitions: [{ partition: 0, abortedTransactions: aborted, messages: log }, { partition: 1, abortedTransactions: [], messages: [rec(0, '5', 'x')] }] }] };
    const out = dropAbortedInResponse(parsed);
    expect(data(out.responses[0]!.partitions[0]!.messages)).toEqual(['c9-1', 'c9-2', 'c7-1']);
    expect(out.responses[0]!.partitions[0]!.abortedTransactions).toEqual([]);
    expect(data(out.responses[0]!.partitions[1]!.messages)).toEqual(['x']);
  });
});
