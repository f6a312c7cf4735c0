import { EventStoreDBClient } from '@eventstore/db-client';
import { describe, it } from 'vitest';

import { createEventStoreDbEventStore } from '../../src/adapters/eventstoredb/eventstoredb-event-store.js';
import { describeEventStoreContract } from './event-store.contract.js';

const url = process.env.EVENTSTORE_URL;

// EventStoreDB cannot run on the machines this suite is developed on (no container engine);
// the contract runs wherever EVENTSTORE_URL points at one (docker-compose.yml brings it).
if (url) {
  describeEventStoreContract('eventstoredb event store', async () => {
    const connect = () => EventStoreDBClient.connectionString(url);
    return {
      store: createEventStoreDbEventStore({ client: connect() }),
      openStore: async () => createEventStoreDbEventStore({ client: connect() }),
      detectsRetries: false,
      cleanup: async () => {},
    };
  });
} else {
  describe('eventstoredb event store', () => {
    it.skip('runs when EVENTSTORE_URL is set', () => {});
  });
}
