/** Collection names are part of the engine contract (docs/architecture.md, Data). */
export const COLLECTIONS = {
  events: 'webhook_events',
  webhooks: 'webhooks',
  deliveries: 'webhook_deliveries',
  apiKeys: 'api_keys',
  dispatcherState: 'dispatcher_state',
  connections: 'connections',
  objects: 'objects',
  inboundEvents: 'inbound_events',
} as const;
