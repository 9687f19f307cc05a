import type { Container, JSONValue } from '@azure/cosmos';
import { guard } from './cosmosErrors.js';

/**
 * Every result of a query inside one caller's partition. The caller's id is bound as `@userId`, which the query
 * must also filter on (the embedded store ignores the partition key option); `parameters` are bound by name.
 */
export async function queryPartition<T>(
  container: Container, userId: string, query: string, parameters: Readonly<Record<string, JSONValue>> = {},
): Promise<T[]> {
  const bound = [{ name: '@userId', value: userId }, ...Object.entries(parameters).map(([name, value]) => ({ name: `@${name}`, value }))];
  const { resources } = await guard(() => container.items.query<T>({ query, parameters: bound }, { partitionKey: userId }).fetchAll());
  return resources;
}
