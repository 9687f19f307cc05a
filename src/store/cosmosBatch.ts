import type { Container, JSONObject, OperationInput, OperationResponse } from '@azure/cosmos';
import { StoreUnavailableError } from '../chat/errors.js';
import { cosmosStatus, guard } from './cosmosErrors.js';

/**
 * One write of a transactional batch: creates, replaces conditional on the etag the caller read, and upserts. An
 * upsert cannot be undone (what it overwrote is unknown), so it goes last: if it fails nothing of it landed, and
 * if it lands the batch is done.
 */
export type BatchWrite =
  | { readonly kind: 'create'; readonly body: JSONObject }
  | { readonly kind: 'replace'; readonly body: JSONObject; readonly ifMatch: string; readonly original: JSONObject }
  | { readonly kind: 'upsert'; readonly body: JSONObject };

export type BatchOutcome =
  | { readonly ok: true; readonly results: readonly OperationResponse[] }
  | { readonly ok: false; readonly failedIndex: number; readonly status: number };

/**
 * Runs writes as one transactional batch in one partition: Cosmos DB applies all or none. A Cosmos-protocol server
 * that applies them one by one and stops at the first failure (the embedded store does) has the writes that landed
 * undone here, so callers see all-or-none from both.
 */
export async function transactionalBatch(
  container: Container, partitionKey: string, writes: readonly BatchWrite[],
): Promise<BatchOutcome> {
  const operations: OperationInput[] = writes.map((write): OperationInput => {
    // The partition key on the operation too: the embedded store reads it from there, Cosmos DB accepts it.
    if (write.kind === 'create') return { operationType: 'Create', partitionKey, resourceBody: write.body };
    if (write.kind === 'upsert') return { operationType: 'Upsert', partitionKey, resourceBody: write.body };
    return { operationType: 'Replace', partitionKey, id: String(write.body.id), resourceBody: write.body, ifMatch: write.ifMatch };
  });
  const response = await guard(() => container.items.batch(operations, partitionKey));
  const results = response.result ?? [];
  const failedIndex = results.findIndex((r) => r.statusCode >= 400 && r.statusCode !== 424);
  if (failedIndex === -1 && results.length === writes.length) return { ok: true, results };
  await undoLanded(container, partitionKey, writes, results);
  return { ok: false, failedIndex, status: failedIndex === -1 ? response.code ?? 500 : results[failedIndex]!.statusCode };
}

/** Every landed write is undone, each conditional on the etag it produced; any that could not be is reported. */
async function undoLanded(
  container: Container, partitionKey: string, writes: readonly BatchWrite[], results: readonly OperationResponse[],
): Promise<void> {
  let failure: unknown;
  for (let i = results.length - 1; i >= 0; i -= 1) {
    const result = results[i]!;
    const write = writes[i];
    if (!write || result.statusCode >= 300) continue;
    // Without the etag it produced, an undo could overwrite a later write: not attempted.
    if (!result.eTag) {
      failure ??= new Error(`operation ${i} landed without an etag`);
      continue;
    }
    if (write.kind === 'upsert') {
      failure ??= new Error(`operation ${i} (an upsert) landed and cannot be undone`);
      continue;
    }
    const id = String(write.body.id);
    const condition = { accessCondition: { type: 'IfMatch', condition: result.eTag } };
    try {
      if (write.kind === 'create') await container.item(id, partitionKey).delete(condition);
      else await container.item(id, partitionKey).replace(write.original, condition);
    } catch (error) {
      // Changed since (412) or gone (404): someone else's write now, not ours to undo.
      const status = cosmosStatus(error);
      if (status !== 412 && status !== 404) failure ??= error;
    }
  }
  if (failure !== undefined) {
    throw new StoreUnavailableError('A failed batch could not be undone: the store is not atomic and is failing.', failure);
  }
}

/** A document as a batch body (the SDK types bodies as JSON; documents are plain JSON objects). */
export function asJson(document: object): JSONObject {
  return document as unknown as JSONObject;
}
