import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Config } from '../config/env';
import type { WebhookSchemaOptions } from '../domain/webhook-schemas';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { SecretBox } from '../security/secret-box';

/** Everything the API needs, injected so tests pass real servers in. */
export interface ApiDeps {
  db: Db;
  box: SecretBox;
  temporal: Client;
  config: Config;
  logger: Logger;
  /** The process's registry (shared with other roles); a fresh one when absent. */
  metrics?: Metrics;
  /** Template syntax check for *_template fields; the template engine's by default. */
  validateTemplate?: WebhookSchemaOptions['validateTemplate'];
}
