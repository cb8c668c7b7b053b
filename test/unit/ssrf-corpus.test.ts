import type { LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHttpTransport, InvalidDestinationError } from '../../src/delivery/http-transport';
import {
  BlockedDestinationError,
  checkLiteralDestination,
  checkResolvedAddress,
  parseCidrList,
  parseUrlHost,
  type BlockedRange,
} from '../../src/security/ssrf';
import { formUrl, SSRF_CORPUS, type SsrfForm } from '../support/ssrf-corpus';

/**
 * The shared SSRF corpus against the guard itself (pure: no resolution, no sockets).
 * test/integration/ssrf-corpus.test.ts sends the same forms through the real transport.
 */

const PORT = 4000;
const NO_EXEMPTIONS = parseCidrList('');
// Ranges an operator might exempt for other reasons: none of them may open a corpus form.
const UNRELATED = parseCidrList('8.8.8.0/24, 2606:4700::/32, 192.0.2.0/24');

const of = <K extends SsrfForm['kind']>(kind: K) =>
  SSRF_CORPUS.filter((form): form is Extract<SsrfForm, { kind: K }> => form.kind === kind).map((form) => [form.name, form] as const);

function blocked(result: BlockedDestinationError | null): BlockedDestinationError {
  expect(result).toBeInstanceOf(BlockedDestinationError);
  return result!;
}

/** The first blocked answer among a name's answers, as the transport's lookup finds it. */
function firstBlockedAnswer(answers: readonly string[], allowed = NO_EXEMPTIONS): BlockedDestinationError | null {
  for (const answer of answers) {
    const result = checkResolvedAddress(answer, allowed);
    if (result) return result;
  }
  return null;
}

describe('the corpus', () => {
  it('holds at least 25 destinations, each named once', () => {
    expect(SSRF_CORPUS.length).toBeGreaterThanOrEqual(25);
    const names = SSRF_CORPUS.map((form) => form.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('covers every range and trick issue 10 names', () => {
    const ranges = new Set(SSRF_CORPUS.flatMap((form) => ('range' in form ? [form.range] : [])));
    const required: BlockedRange[] = [
      'loopback', 'ipv4-mapped', 'unspecified', 'private', 'link-local', 'cgnat', 'benchmarking',
      'multicast', 'broadcast', 'unique-local',
    ];
    for (const range of required) expect(ranges, range).toContain(range);
    const urls = SSRF_CORPUS.map((form) => form.url);
    for (const spelling of ['127.0.0.1', '127.1', '2130706433', '0x7f000001', '0177.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:7f00:1]', '0.0.0.0', '169.254.169.254', '[fe80::', '[fc00::']) {
      expect(urls.some((url) => url.includes(spelling)), spelling).toBe(true);
    }
    expect(urls).toContain('https://a@127.0.0.1:443');
    for (const kind of ['name', 'credentials', 'rebinding', 'redirect'] as const) {
      expect(SSRF_CORPUS.some((form) => form.kind === kind), kind).toBe(true);
    }
  });
});

describe('literal addresses are refused at create time and at every attempt', () => {
  it.each(of('address'))('%s', (_name, form) => {
    const url = formUrl(form.url, PORT);
    expect(parseUrlHost(url).kind).toBe('ip');
    expect(blocked(checkLiteralDestination(url, NO_EXEMPTIONS)).range).toBe(form.range);
    expect(blocked(checkLiteralDestination(url, UNRELATED)).range).toBe(form.range);
    // The allow-list is the only way through.
    expect(checkLiteralDestination(url, parseCidrList(form.allowWith))).toBeNull();
  });
});

describe('names are checked on every answer of the resolver', () => {
  it.each(of('name'))('%s', (_name, form) => {
    const url = formUrl(form.url, PORT);
    const host = parseUrlHost(url);
    expect(host.kind).toBe('name');
    const isLocalhost = host.kind === 'name' && (host.hostname === 'localhost' || host.hostname.endsWith('.localhost'));
    // Plain names pass the create-time check (they are resolved at delivery); localhost never does.
    if (isLocalhost) expect(blocked(checkLiteralDestination(url, NO_EXEMPTIONS)).range).toBe('loopback');
    else expect(checkLiteralDestination(url, NO_EXEMPTIONS)).toBeNull();
    expect(blocked(firstBlockedAnswer(form.answers)).range).toBe(form.range);
    expect(blocked(firstBlockedAnswer(form.answers, UNRELATED)).range).toBe(form.range);
    if (form.allowWith) {
      const allowed = parseCidrList(form.allowWith);
      expect(firstBlockedAnswer(form.answers, allowed)).toBeNull();
      if (isLocalhost) expect(checkLiteralDestination(url, allowed)).toBeNull();
    }
  });
});

describe('credentials in the URL are refused before any resolution or connection', () => {
  const transport = createHttpTransport({
    allowHttp: true,
    // Even with every address allowed, credentials are refused.
    allowedCidrs: parseCidrList('0.0.0.0/0, ::/0'),
    userAgent: 'hookrelay/test',
    lookup: (() => {
      throw new Error('the resolver must not be asked');
    }) as unknown as LookupFunction,
  });

  it.each(of('credentials'))('%s', async (_name, form) => {
    const url = formUrl(form.url, PORT);
    expect(new URL(url).username).not.toBe('');
    const error = await transport.send({ url, headers: {}, body: '{}', timeoutMs: 1_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidDestinationError);
    const password = new URL(url).password;
    if (password) expect((error as Error).message).not.toContain(password);
  });
});

describe('rebinding and redirects', () => {
  it.each(of('rebinding'))('%s: the rebound answer is refused; only the allow-list admits the checked one', (_name, form) => {
    expect(checkLiteralDestination(formUrl(form.url, PORT), NO_EXEMPTIONS)).toBeNull();
    expect(blocked(checkResolvedAddress(form.checked, NO_EXEMPTIONS)).range).toBe(form.range);
    const allowed = parseCidrList(form.allowWith);
    expect(checkResolvedAddress(form.checked, allowed)).toBeNull();
    expect(blocked(checkResolvedAddress(form.rebound, allowed)).range).toBe(form.range);
  });

  it.each(of('redirect'))('%s: the Location would be refused even if it were followed', (_name, form) => {
    const allowed = parseCidrList(form.allowWith);
    expect(checkLiteralDestination(formUrl(form.url, PORT), allowed)).toBeNull();
    expect(blocked(checkLiteralDestination(formUrl(form.location, PORT), allowed)).range).toBe('loopback');
  });
});
