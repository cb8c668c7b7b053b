import type { StoredChannel } from '../store/webhook-store';

/** docs/architecture.md, Delivery rules: the channel's `timeout` (seconds), 10 s by default. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;
/** SMTP conversations are slower than one HTTP request. */
const EMAIL_ATTEMPT_TIMEOUT_MS = 30_000;

export function attemptTimeoutMs(channel: StoredChannel): number {
  const seconds = channel.configs.timeout;
  if (typeof seconds === 'number' && seconds > 0) return Math.round(seconds * 1000);
  return channel.channel === 'email' ? EMAIL_ATTEMPT_TIMEOUT_MS : DEFAULT_ATTEMPT_TIMEOUT_MS;
}
