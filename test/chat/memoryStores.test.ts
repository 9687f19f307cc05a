import { describeConversationStoreContract } from '../support/contracts/conversationStoreContract.js';
import { describeStopRequestsContract } from '../support/contracts/stopRequestsContract.js';
import { describeTurnReservationsContract } from '../support/contracts/turnReservationsContract.js';
import { describeUsageLedgerContract } from '../support/contracts/usageLedgerContract.js';
import { MemoryConversationStore } from '../support/memory/MemoryConversationStore.js';
import { MemoryStopRequests } from '../support/memory/MemoryStopRequests.js';
import { MemoryTurnReservations } from '../support/memory/MemoryTurnReservations.js';
import { MemoryUsageLedger } from '../support/memory/MemoryUsageLedger.js';

/**
 * The in-memory stores the core's unit tests use, held to the same contract suites as the Cosmos adapters
 * (`test/store/storeContracts.test.ts`). Memory has no instances: every "instance" is the same object.
 */
describeConversationStoreContract('in memory', (clock) => {
  const store = new MemoryConversationStore(clock, new MemoryUsageLedger());
  return { store, otherInstance: () => store };
});

const ledger = new MemoryUsageLedger();
describeUsageLedgerContract('in memory', () => ledger);

const reservationsLedger = new MemoryUsageLedger();
const reservations = new MemoryTurnReservations((userId, day) => reservationsLedger.tokensOn(userId, day));
describeTurnReservationsContract('in memory', () => ({ ledger: reservationsLedger, reservations }));

const stops = new MemoryStopRequests();
describeStopRequestsContract('in memory', () => stops);
