import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/env';
import { InvalidEventError } from '../../domain/event-envelope';
import { emitEvent } from '../../events/emit-event';
import { StartupError } from '../../runtime/startup-error';
import { connectMongo } from '../../store/database';

/** `hookrelay emit`: writes one event into webhook_events as the engine would; prints its id. */
export async function emitCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      type: { type: 'string' },
      org: { type: 'string' },
      namespace: { type: 'string' },
      subject: { type: 'string' },
      metadata: { type: 'string' },
      id: { type: 'string' },
    },
    strict: true,
  });
  if (!values.type || !values.org) throw new StartupError('--type and --org are required');
  let metadata: Record<string, unknown> = {};
  if (values.metadata) {
    try {
      metadata = JSON.parse(values.metadata) as Record<string, unknown>;
    } catch (error) {
      throw new StartupError(`--metadata is not valid JSON: ${(error as Error).message}`);
    }
  }
  let subject: { type: string; id: string } | undefined;
  if (values.subject) {
    const separator = values.subject.indexOf(':');
    if (separator <= 0 || separator === values.subject.length - 1) throw new StartupError('--subject must be <type>:<id>');
    subject = { type: values.subject.slice(0, separator), id: values.subject.slice(separator + 1) };
  }
  const config = loadConfig();
  if (!config.MONGODB_URL) throw new StartupError('MONGODB_URL is required');
  const mongo = await connectMongo(config.MONGODB_URL, config.MONGODB_DB);
  try {
    const { eventId } = await emitEvent(mongo.db, {
      event_id: values.id,
      event_type: values.type,
      organization_id: values.org,
      namespace_id: values.namespace,
      subject,
      metadata,
    });
    console.log(eventId);
  } catch (error) {
    if (error instanceof InvalidEventError) throw new StartupError(error.message);
    throw error;
  } finally {
    await mongo.close();
  }
}
