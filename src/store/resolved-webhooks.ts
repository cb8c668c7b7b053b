import { LRUCache } from 'lru-cache';
import type { WebhookDocument } from './webhook-store';

/**
 * The webhooks an event was resolved to, kept for a few seconds so that each target's
 * first attempt, which normally follows resolution within milliseconds, does not read
 * its webhook again. Retries always read it fresh: a webhook edited, paused or deleted
 * meanwhile is honoured from the next attempt on.
 */
export class ResolvedWebhooks {
  private readonly cache: LRUCache<string, Map<string, WebhookDocument>>;

  constructor(options: { maxEvents?: number; ttlMs?: number } = {}) {
    this.cache = new LRUCache({ max: options.maxEvents ?? 2_000, ttl: options.ttlMs ?? 5_000 });
  }

  remember(eventId: string, webhooks: readonly WebhookDocument[]): void {
    this.cache.set(eventId, new Map(webhooks.map((webhook) => [webhook._id, webhook])));
  }

  get(eventId: string, webhookId: string): WebhookDocument | undefined {
    return this.cache.get(eventId)?.get(webhookId);
  }

  forget(eventId: string): void {
    this.cache.delete(eventId);
  }

  /** A webhook this process just changed (e.g. disabled after 410 Gone): no attempt may use an old copy. */
  forgetWebhook(webhookId: string): void {
    for (const webhooks of this.cache.values()) webhooks.delete(webhookId);
  }
}
