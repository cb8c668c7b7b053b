import type { BlockedRange } from '../../src/security/ssrf';

/**
 * Destinations hookrelay must never contact (issue 10 item 2; docs/architecture.md,
 * Delivery rules: destinations), shared by test/unit/ssrf-corpus.test.ts (the guard, pure) and
 * test/integration/ssrf-corpus.test.ts (the real transport against loopback listeners).
 *
 * `{port}` in a URL stands for the port the integration test's loopback listeners share
 * (127.0.0.1, 127.0.0.2, 127.255.255.254 and ::1 all listen on it), so every form that
 * could land on this machine has a listener there to count connections. Forms without
 * `{port}` point where nothing can listen here (10/8, multicast, broadcast…).
 */

/** Where a connection to the form would land, when a listener can exist there. */
export type LoopbackListener = '127.0.0.1' | '127.0.0.2' | '127.255.255.254' | '::1';

export const LOOPBACK_LISTENERS: readonly LoopbackListener[] = ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1'];

interface FormBase {
  /** Unique, human-readable: the test title. */
  readonly name: string;
  readonly url: string;
}

/** A literal address (in any spelling): refused before any connection, by its range. */
export interface AddressForm extends FormBase {
  readonly kind: 'address';
  readonly range: BlockedRange;
  readonly lands?: LoopbackListener;
  /** The allow-list entry that lets exactly this form through (HOOKRELAY_ALLOWED_CIDRS). */
  readonly allowWith: string;
}

/** A host name: the injected resolver answers `answers`; one blocked answer refuses the name. */
export interface NameForm extends FormBase {
  readonly kind: 'name';
  readonly answers: readonly string[];
  readonly range: BlockedRange;
  readonly lands?: LoopbackListener;
  /** Omitted when letting it through would connect off this machine (a public answer). */
  readonly allowWith?: string;
}

/** Credentials in the URL: refused as an invalid destination, whatever the host. */
export interface CredentialsForm extends FormBase {
  readonly kind: 'credentials';
}

/**
 * DNS rebinding: the first resolution answers `checked` (allow-listed by `allowWith`, so it
 * passes the guard as a public address would, while the test stays on this machine);
 * every later one answers `rebound`. The connection must go to the checked address.
 */
export interface RebindingForm extends FormBase {
  readonly kind: 'rebinding';
  readonly checked: LoopbackListener;
  readonly rebound: LoopbackListener;
  readonly allowWith: string;
  readonly range: BlockedRange;
}

/** A receiver allowed by `allowWith` answers 302 to `location`; the redirect is never followed. */
export interface RedirectForm extends FormBase {
  readonly kind: 'redirect';
  readonly location: string;
  readonly redirector: LoopbackListener;
  readonly target: LoopbackListener;
  readonly allowWith: string;
}

export type SsrfForm = AddressForm | NameForm | CredentialsForm | RebindingForm | RedirectForm;

const LOOPBACK_V4 = '127.0.0.0/8';
const LOOPBACK_V6 = '::1/128';

const address = (
  name: string,
  url: string,
  range: BlockedRange,
  allowWith: string,
  lands?: LoopbackListener,
): AddressForm => ({ kind: 'address', name, url, range, allowWith, ...(lands ? { lands } : {}) });

const hostname = (
  name: string,
  url: string,
  answers: string[],
  range: BlockedRange,
  extra: { lands?: LoopbackListener; allowWith?: string } = {},
): NameForm => ({ kind: 'name', name, url, answers, range, ...extra });

export const SSRF_CORPUS: readonly SsrfForm[] = [
  // Loopback in every spelling the WHATWG URL parser turns into 127.0.0.1 or ::1.
  address('loopback dotted quad', 'http://127.0.0.1:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback short form 127.1', 'http://127.1:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback decimal 2130706433', 'http://2130706433:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback hex 0x7f000001', 'http://0x7f000001:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback octal 0177.0.0.1', 'http://0177.0.0.1:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback mixed hex 0x7f.1', 'http://0x7f.1:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback with a trailing dot', 'http://127.0.0.1.:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback in circled digits (IDNA-mapped)', 'http://①②⑦.0.0.1:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback with ideographic full stops', 'http://127。0。0。1:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('loopback 127.0.0.2', 'http://127.0.0.2:{port}/', 'loopback', LOOPBACK_V4, '127.0.0.2'),
  address('loopback top of 127/8', 'http://127.255.255.254:{port}/', 'loopback', LOOPBACK_V4, '127.255.255.254'),
  address('IPv6 loopback [::1]', 'http://[::1]:{port}/', 'loopback', LOOPBACK_V6, '::1'),
  address('IPv6 loopback expanded', 'http://[0:0:0:0:0:0:0:1]:{port}/', 'loopback', LOOPBACK_V6, '::1'),
  address('IPv4-mapped loopback [::ffff:127.0.0.1]', 'http://[::ffff:127.0.0.1]:{port}/', 'ipv4-mapped', LOOPBACK_V4, '127.0.0.1'),
  address('IPv4-mapped loopback [0:0:0:0:0:ffff:7f00:1]', 'http://[0:0:0:0:0:ffff:7f00:1]:{port}/', 'ipv4-mapped', LOOPBACK_V4, '127.0.0.1'),

  // "This host": Linux connects 0.0.0.0 and :: to loopback.
  address('unspecified 0.0.0.0', 'http://0.0.0.0:{port}/', 'unspecified', '0.0.0.0/32', '127.0.0.1'),
  address('unspecified short form 0', 'http://0:{port}/', 'unspecified', '0.0.0.0/32', '127.0.0.1'),
  address('IPv6 unspecified [::]', 'http://[::]:{port}/', 'unspecified', '::/128', '::1'),

  // Private, link-local, shared and special-purpose IPv4 ranges: nothing can listen there here.
  address('private 10/8', 'http://10.0.0.1/', 'private', '10.0.0.0/8'),
  address('private 10/8 top', 'https://10.255.255.254:8443/', 'private', '10.0.0.0/8'),
  address('private 172.16/12', 'http://172.16.0.1/', 'private', '172.16.0.0/12'),
  address('private 172.16/12 top', 'http://172.31.255.254/', 'private', '172.16.0.0/12'),
  address('private 192.168/16', 'http://192.168.1.1/', 'private', '192.168.0.0/16'),
  address('cloud metadata 169.254.169.254', 'http://169.254.169.254/latest/meta-data/', 'link-local', '169.254.0.0/16'),
  address('link-local 169.254.0.1', 'http://169.254.0.1/', 'link-local', '169.254.0.0/16'),
  address('link-local 169.254.255.254', 'http://169.254.255.254/', 'link-local', '169.254.0.0/16'),
  address('carrier-grade NAT 100.64/10', 'http://100.64.0.1/', 'cgnat', '100.64.0.0/10'),
  address('carrier-grade NAT 100.64/10 top', 'http://100.127.255.254/', 'cgnat', '100.64.0.0/10'),
  address('benchmarking 198.18/15', 'http://198.18.0.1/', 'benchmarking', '198.18.0.0/15'),
  address('benchmarking 198.19.255.254', 'http://198.19.255.254/', 'benchmarking', '198.18.0.0/15'),
  address('multicast 224.0.0.1', 'http://224.0.0.1/', 'multicast', '224.0.0.0/4'),
  address('multicast SSDP 239.255.255.250', 'http://239.255.255.250:1900/', 'multicast', '224.0.0.0/4'),
  address('broadcast 255.255.255.255', 'http://255.255.255.255/', 'broadcast', '255.255.255.255/32'),
  address('reserved 240/4', 'http://240.0.0.1/', 'reserved', '240.0.0.0/4'),

  // IPv6 local ranges and IPv6 forms that carry a private IPv4 address.
  address('unique-local fc00::/7', 'http://[fc00::1]/', 'unique-local', 'fc00::/7'),
  address('unique-local fd00::/8', 'http://[fd12:3456:789a::1]/', 'unique-local', 'fc00::/7'),
  address('cloud metadata over IPv6 [fd00:ec2::254]', 'http://[fd00:ec2::254]/', 'unique-local', 'fc00::/7'),
  address('link-local fe80::/10', 'http://[fe80::1]/', 'link-local', 'fe80::/10'),
  address('IPv6 multicast ff02::1', 'http://[ff02::1]/', 'multicast', 'ff00::/8'),
  address('IPv4-mapped cloud metadata', 'http://[::ffff:169.254.169.254]/', 'ipv4-mapped', '169.254.0.0/16'),
  address('NAT64 of cloud metadata', 'http://[64:ff9b::a9fe:a9fe]/', 'nat64', '64:ff9b::/96'),
  address('6to4 of loopback', 'http://[2002:7f00:1::]/', '6to4', '2002::/16'),

  // Names: answered by the injected resolver, checked at every attempt.
  hostname('name resolving to loopback', 'http://loopback.test:{port}/', ['127.0.0.1'], 'loopback', { lands: '127.0.0.1', allowWith: LOOPBACK_V4 }),
  hostname('name resolving to IPv6 loopback', 'http://v6-loopback.test:{port}/', ['::1'], 'loopback', { lands: '::1', allowWith: LOOPBACK_V6 }),
  hostname('name resolving to IPv4-mapped loopback', 'http://mapped.test:{port}/', ['::ffff:127.0.0.1'], 'ipv4-mapped', { lands: '127.0.0.1', allowWith: LOOPBACK_V4 }),
  hostname('name resolving to 10/8', 'http://internal.test/', ['10.1.2.3'], 'private'),
  hostname('name resolving to cloud metadata', 'http://metadata.test/computeMetadata/v1/', ['169.254.169.254'], 'link-local'),
  hostname('name resolving to 192.168/16', 'http://router.test/', ['192.168.0.1'], 'private'),
  hostname('name resolving to a unique-local address', 'http://ula.test/', ['fd00::1'], 'unique-local'),
  // One private answer among public ones refuses the name: which answer a socket uses is not ours to pick.
  hostname('name with one private answer among public ones', 'http://mixed.test:{port}/', ['8.8.8.8', '127.0.0.1'], 'loopback'),
  hostname('localhost', 'http://localhost:{port}/', ['127.0.0.1'], 'loopback', { lands: '127.0.0.1', allowWith: LOOPBACK_V4 }),
  hostname('LOCALHOST. (case, trailing dot)', 'http://LOCALHOST.:{port}/', ['127.0.0.1'], 'loopback', { lands: '127.0.0.1', allowWith: LOOPBACK_V4 }),
  hostname('a subdomain of localhost', 'http://hooks.localhost:{port}/', ['127.0.0.1'], 'loopback', { lands: '127.0.0.1', allowWith: LOOPBACK_V4 }),

  // Userinfo and port tricks.
  { kind: 'credentials', name: 'userinfo before a loopback host (https://a@127.0.0.1:443)', url: 'https://a@127.0.0.1:443' },
  { kind: 'credentials', name: 'user:password before a loopback host', url: 'http://user:pass@127.0.0.1:{port}/' },
  { kind: 'credentials', name: 'a public-looking name as userinfo', url: 'https://hooks.example.com:443@127.0.0.1/' },
  { kind: 'credentials', name: 'userinfo before a public-looking name', url: 'https://127.0.0.1@hooks.example.com/' },
  address('port with leading zeros', 'http://127.0.0.1:0{port}/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('backslash hiding a public name in the path', 'http://127.0.0.1:{port}\\@hooks.example.com/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('fragment hiding a public name', 'http://127.0.0.1:{port}#@hooks.example.com/', 'loopback', LOOPBACK_V4, '127.0.0.1'),
  address('https default port on loopback', 'https://127.0.0.1/', 'loopback', LOOPBACK_V4),

  // Time-of-check/time-of-use and redirects.
  {
    kind: 'rebinding',
    name: 'DNS rebinding: allowed on the first answer, loopback on every later one',
    url: 'http://rebind.test:{port}/',
    checked: '127.0.0.2',
    rebound: '127.0.0.1',
    allowWith: '127.0.0.2/32',
    range: 'loopback',
  },
  {
    kind: 'redirect',
    name: '302 from an allowed receiver to a loopback one',
    url: 'http://127.0.0.2:{port}/redirect',
    location: 'http://127.0.0.1:{port}/',
    redirector: '127.0.0.2',
    target: '127.0.0.1',
    allowWith: '127.0.0.2/32',
  },
];

/** The URL of a form with the listeners' port filled in. */
export function formUrl(template: string, port: number): string {
  return template.replaceAll('{port}', String(port));
}

/** Host name → the injected resolver's answers, for every name form. */
export function corpusAnswers(): Record<string, readonly string[]> {
  const table: Record<string, readonly string[]> = {};
  for (const form of SSRF_CORPUS) {
    if (form.kind !== 'name') continue;
    table[new URL(form.url.replace('{port}', '1')).hostname.replace(/\.$/, '').toLowerCase()] = form.answers;
  }
  return table;
}
