import { describe, expect, it } from 'vitest';
import { ResolvedWebhooks } from '../../src/store/resolved-webhooks';
import type { WebhookDocument } from '../../src/store/webhook-store';

const webhook = (id: string) => ({ _id: id, is_active: true }) as unknown as WebhookDocument;

describe('resolved webhooks', () => {
  it('keeps the webhooks an event resolved to, per event', () => {
    const resolved = new ResolvedWebhooks();
    resolved.remember('evt_1', [webhook('wh_a'), webhook('wh_b')]);
    expect(resolved.get('evt_1', 'wh_a')?._id).toBe('wh_a');
    expect(resolved.get('evt_1', 'wh_c')).toBeUndefined();
    expect(resolved.get('evt_2', 'wh_a')).toBeUndefined();
    resolved.forget('evt_1');
    expect(resolved.get('evt_1', 'wh_a')).toBeUndefined();
  });

  it('drops a webhook from every event at once when this process changes it', () => {
    const resolved = new ResolvedWebhooks();
    resolved.remember('evt_1', [webhook('wh_gone'), webhook('wh_ok')]);
    resolved.remember('evt_2', [webhook('wh_gone')]);
    resolved.forgetWebhook('wh_gone');
    expect(resolved.get('evt_1', 'wh_gone')).toBeUndefined();
    expect(resolved.get('evt_2', 'wh_gone')).toBeUndefined();
    expect(resolved.get('evt_1', 'wh_ok')?._id).toBe('wh_ok');
  });

  it('forgets after its time to live', async () => {
    const resolved = new ResolvedWebhooks({ ttlMs: 20 });
    resolved.remember('evt_1', [webhook('wh_a')]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(resolved.get('evt_1', 'wh_a')).toBeUndefined();
  });
});
