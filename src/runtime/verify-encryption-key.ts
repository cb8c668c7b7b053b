import type { Db } from 'mongodb';
import { SecretKeyMismatchError, type SecretBox } from '../security/secret-box';
import { webhooksCollection } from '../store/webhook-store';
import { StartupError } from './startup-error';

/**
 * Opens one stored secret at start-up. A changed HOOKRELAY_ENCRYPTION_KEY then stops the
 * process with a clear message, instead of every delivery failing later.
 */
export async function verifyEncryptionKey(db: Db, box: SecretBox): Promise<void> {
  const sample = await webhooksCollection(db).findOne({}, { projection: { signing_secrets: 1 } });
  const sealed = sample?.signing_secrets[0]?.sealed;
  if (!sealed) return;
  try {
    box.open(sealed);
  } catch (error) {
    if (error instanceof SecretKeyMismatchError) {
      throw new StartupError(
        'HOOKRELAY_ENCRYPTION_KEY does not match the key the stored secrets were sealed with; restore the previous key (a key change needs a re-encryption migration)',
      );
    }
    throw new StartupError(`stored secrets cannot be opened: ${(error as Error).message}`);
  }
}
