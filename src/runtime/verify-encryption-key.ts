import type { Db } from 'mongodb';
import { SecretKeyMismatchError, type SecretBox } from '../security/secret-box';
import { connectionsCollection } from '../store/connection-store';
import { webhooksCollection } from '../store/webhook-store';
import { StartupError } from './startup-error';

/**
 * Opens one stored secret of each kind at start-up: a webhook's signing secret and an
 * inbound connection's provider secret (a database may hold only one of the two). A
 * changed HOOKRELAY_ENCRYPTION_KEY then stops the process with a clear message, instead
 * of every delivery or inbound request failing later.
 */
export async function verifyEncryptionKey(db: Db, box: SecretBox): Promise<void> {
  const [webhook, connection] = await Promise.all([
    webhooksCollection(db).findOne({}, { projection: { signing_secrets: 1 } }),
    connectionsCollection(db).findOne({}, { projection: { webhook_secret_sealed: 1 } }),
  ]);
  for (const sealed of [webhook?.signing_secrets?.[0]?.sealed, connection?.webhook_secret_sealed]) {
    if (sealed) openOrExplain(box, sealed);
  }
}

function openOrExplain(box: SecretBox, sealed: string): void {
  try {
    box.open(sealed);
  } catch (error) {
    if (error instanceof SecretKeyMismatchError) {
      throw new StartupError(
        `HOOKRELAY_ENCRYPTION_KEY does not match the key the stored secrets were sealed with (key id ${error.actualKeyId}, configured ${error.expectedKeyId}); restore the previous key (a key change needs a re-encryption migration)`,
      );
    }
    throw new StartupError(`stored secrets cannot be opened with HOOKRELAY_ENCRYPTION_KEY: ${(error as Error).message}`);
  }
}
