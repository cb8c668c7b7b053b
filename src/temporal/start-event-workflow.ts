import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { DeliverEventInput } from '../domain/delivery-plan';
import { EVENT_TYPE, NAMESPACE, ORGANIZATION } from '../domain/search-attributes';
import type { EventDocument } from '../store/event-store';

import { startOnce, type StartResult } from './start-once';

export type { StartResult };

export type EventIdentity = Pick<EventDocument, '_id' | 'event_type' | 'organization_id' | 'namespace_id'>;

/** Set at start so the Temporal UI finds an event's runs by type, organization and namespace. */
export function eventSearchAttributes(event: EventIdentity): SearchAttributePair[] {
  return [
    { key: EVENT_TYPE, value: event.event_type },
    { key: ORGANIZATION, value: event.organization_id },
    ...(event.namespace_id ? [{ key: NAMESPACE, value: event.namespace_id }] : []),
  ];
}

/** Temporal rejects a fairness key over this many bytes, fairness on or off. */
const FAIRNESS_KEY_MAX_BYTES = 64;

/** The organization as a fairness key: as is when it fits, else a hash of it (still one key per organization). */
export function fairnessKeyOf(organizationId: string): string {
  if (Buffer.byteLength(organizationId) <= FAIRNESS_KEY_MAX_BYTES) return organizationId;
  return `sha256:${createHash('sha256').update(organizationId).digest('hex').slice(0, 40)}`;
}

/**
 * What every run for an event is started with, its first and any redelivery: search
 * attributes, so the Temporal UI finds them together, and the organization as fairness
 * key. With fairness on in the server's matching service, each organization's backlog
 * gets its turn; with it off, the key is checked and otherwise unused.
 */
export function eventRunOptions(event: EventIdentity) {
  return {
    typedSearchAttributes: eventSearchAttributes(event),
    priority: { fairnessKey: fairnessKeyOf(event.organization_id) },
  };
}

/**
 * Starts the event's workflow with workflow id = event id. A second start for the same
 * event, whether the first is running or finished, is rejected by Temporal and counts as
 * success: that is what makes several dispatchers safe.
 */
export async function startEventWorkflow(
  client: Client,
  taskQueue: string,
  event: EventIdentity,
  options: { eager?: boolean } = {},
): Promise<StartResult> {
  const input: DeliverEventInput = { eventId: event._id };
  return startOnce(client, 'deliverEvent', {
    workflowId: event._id,
    taskQueue,
    args: [input],
    requestEagerStart: options.eager,
    ...eventRunOptions(event),
  });
}
