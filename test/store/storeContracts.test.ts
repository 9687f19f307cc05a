import { afterAll, beforeAll } from 'vitest';
import { CosmosConversationStore } from '../../src/store/CosmosConversationStore.js';
import { CosmosTurnReservations } from '../../src/store/CosmosTurnReservations.js';
import { CosmosStopRequests } from '../../src/store/CosmosStopRequests.js';
import { CosmosUsageLedger } from '../../src/store/CosmosUsageLedger.js';
import { describeConversationStoreContract } from '../support/contracts/conversationStoreContract.js';
import { describeStopRequestsContract } from '../support/contracts/stopRequestsContract.js';
import { describeTurnReservationsContract } from '../support/contracts/turnReservationsContract.js';
import { describeUsageLedgerContract } from '../support/contracts/usageLedgerContract.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';

/** The storage ports' contract suites on the Cosmos adapters, over one embedded Cosmos server for the whole file. */
let s: TestStore;

beforeAll(async () => {
  s = await startTestStore();
});
afterAll(() => s.close());

describeConversationStoreContract('Cosmos (embedded server)', (clock) => ({
  store: new CosmosConversationStore(s.container, clock),
  otherInstance: () => new CosmosConversationStore(s.container, clock),
}));

describeUsageLedgerContract('Cosmos (embedded server)', () => new CosmosUsageLedger(s.container));

describeTurnReservationsContract('Cosmos (embedded server)', () => {
  const ledger = new CosmosUsageLedger(s.container);
  return { ledger, reservations: new CosmosTurnReservations(s.container, (userId, day) => ledger.tokensOn(userId, day)) };
});

describeStopRequestsContract('Cosmos (embedded server)', () => new CosmosStopRequests(s.container));
