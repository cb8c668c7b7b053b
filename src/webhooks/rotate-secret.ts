import { z } from 'zod';
import { formatDuration, parseDuration } from '../domain/duration';
import { generateSigningSecret } from '../security/signing';
import type { Sealer } from '../store/channel-secrets';
import type { StoredSigningSecret } from '../store/webhook-store';

const HOUR = 3_600_000;
export const DEFAULT_ROTATION_GRACE_MS = 24 * HOUR;
export const MAX_ROTATION_GRACE_MS = 7 * 24 * HOUR;
/** Every valid secret adds a signature to every delivery: keep the header short. */
export const MAX_SIGNING_SECRETS = 5;

export const rotateSecretRequestSchema = z
  .object({
    grace_period: z
      .string({ error: 'grace_period must be a duration string such as "24h" or "30m"' })
      .superRefine((value, ctx) => {
        let ms: number;
        try {
          ms = parseDuration(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `grace_period: ${(error as Error).message}` });
          return;
        }
        if (ms > MAX_ROTATION_GRACE_MS) {
          ctx.addIssue({ code: 'custom', message: `grace_period must be at most ${formatDuration(MAX_ROTATION_GRACE_MS)}, got "${value}"` });
        }
      })
      .nullish()
      .describe('How long the previous secret keeps signing alongside the new one (default 24h, at most 7d; "0s" retires it now)'),
  })
  .nullish();

export interface Rotation {
  secrets: StoredSigningSecret[];
  /** The new secret in clear, for the rotate response only. */
  signingSecret: string;
  /** When the last of the previous secrets stops signing; null when none remains. */
  previousExpireAt: Date | null;
}

/**
 * A new current secret; every previous one signs until now + grace at the latest
 * (an earlier expiry is kept), expired ones are pruned, at most MAX_SIGNING_SECRETS stay.
 */
export function rotateSigningSecrets(current: readonly StoredSigningSecret[], box: Sealer, now: Date, graceMs: number): Rotation {
  const cutoff = now.getTime() + graceMs;
  const previous = current
    .map((secret) => ({
      ...secret,
      expires_at: new Date(Math.min(secret.expires_at?.getTime() ?? Number.POSITIVE_INFINITY, cutoff)),
    }))
    .filter((secret) => secret.expires_at.getTime() > now.getTime())
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime())
    .slice(0, MAX_SIGNING_SECRETS - 1);
  const signingSecret = generateSigningSecret();
  const latestExpiry = previous.reduce<number | null>((latest, s) => Math.max(latest ?? 0, s.expires_at.getTime()), null);
  return {
    signingSecret,
    secrets: [{ sealed: box.seal(signingSecret), created_at: now, expires_at: null }, ...previous],
    previousExpireAt: latestExpiry === null ? null : new Date(latestExpiry),
  };
}

/** The secret shown by GET …/secret: the newest one that does not expire. */
export function currentSigningSecret(secrets: readonly StoredSigningSecret[], box: Sealer): string | undefined {
  const current = [...secrets]
    .filter((secret) => secret.expires_at === null)
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime())[0];
  return current && box.open(current.sealed);
}
