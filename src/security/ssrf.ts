import ipaddr from 'ipaddr.js';

/**
 * SSRF guard for outbound destinations (docs/architecture.md, Delivery rules). Pure: classifies literal
 * addresses and URL hosts, never resolves names. The delivery transport checks every
 * resolved address with checkResolvedAddress; the API refuses literal blocked hosts with
 * checkLiteralDestination.
 */

type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

export type BlockedRange =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'benchmarking'
  | 'documentation'
  | 'unique-local'
  | 'site-local'
  | 'ipv4-mapped'
  | 'ipv4-translated'
  | 'ipv4-compatible'
  | 'nat64'
  | '6to4'
  | 'teredo';

export type AddressClass = 'public' | BlockedRange;

export interface ParsedCidr {
  readonly network: IpAddress;
  readonly prefixLength: number;
  /** As written in the configuration, for messages. */
  readonly source: string;
}

export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
  constructor(readonly input: string) {
    super(`"${input}" is not an IP address`);
  }
}

export class CidrListError extends Error {
  override readonly name = 'CidrListError';
  constructor(
    readonly entry: string,
    readonly position: number,
  ) {
    super(`invalid CIDR range "${entry}" (entry ${position}): expected an address with an optional prefix, such as 127.0.0.0/8 or ::1/128`);
  }
}

export class InvalidUrlError extends Error {
  override readonly name = 'InvalidUrlError';
  constructor(
    readonly input: string,
    reason = 'is not an absolute URL',
  ) {
    super(`"${input}" ${reason}`);
  }
}

export class BlockedDestinationError extends Error {
  override readonly name = 'BlockedDestinationError';
  constructor(
    /** The address that was checked (canonical form). */
    readonly address: string,
    readonly range: BlockedRange,
    /** Human explanation, e.g. "127.0.0.1 is a loopback address". */
    readonly reason: string,
  ) {
    super(`destination blocked: ${reason}`);
  }
}

function cidr(text: string): [IpAddress, number] {
  return ipaddr.parseCIDR(text);
}

// First match wins, so narrower ranges come before the ranges containing them.
const IPV4_BLOCKED: ReadonlyArray<[[IpAddress, number], BlockedRange]> = [
  [cidr('255.255.255.255/32'), 'broadcast'],
  [cidr('0.0.0.0/8'), 'unspecified'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('100.64.0.0/10'), 'cgnat'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.0.0/16'), 'link-local'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.0.0.0/24'), 'reserved'], // IETF protocol assignments
  [cidr('192.0.2.0/24'), 'documentation'], // TEST-NET-1
  [cidr('192.88.99.0/24'), 'reserved'], // deprecated 6to4 relay anycast
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('198.18.0.0/15'), 'benchmarking'],
  [cidr('198.51.100.0/24'), 'documentation'], // TEST-NET-2
  [cidr('203.0.113.0/24'), 'documentation'], // TEST-NET-3
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('240.0.0.0/4'), 'reserved'],
];

const IPV6_BLOCKED: ReadonlyArray<[[IpAddress, number], BlockedRange]> = [
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  [cidr('::/96'), 'ipv4-compatible'], // deprecated; routing is platform-dependent
  [cidr('100::/64'), 'reserved'], // discard-only
  [cidr('64:ff9b:1::/48'), 'reserved'], // local-use NAT64
  [cidr('2001:2::/48'), 'benchmarking'],
  [cidr('2001:10::/28'), 'reserved'], // ORCHID
  [cidr('2001:20::/28'), 'reserved'], // ORCHIDv2
  [cidr('2001:db8::/32'), 'documentation'],
  [cidr('3fff::/20'), 'documentation'],
  [cidr('5f00::/16'), 'reserved'], // SRv6 SIDs
  [cidr('fc00::/7'), 'unique-local'],
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'site-local'],
  [cidr('ff00::/8'), 'multicast'],
];

const GLOBAL_UNICAST_V6 = cidr('2000::/3');

// IPv6 forms that reach an IPv4 address: judged by the IPv4 address they carry.
type EmbeddingForm = 'ipv4-mapped' | 'ipv4-translated' | 'nat64' | '6to4' | 'teredo';

const EMBEDDING_FORMS: ReadonlyArray<[[IpAddress, number], EmbeddingForm]> = [
  [cidr('::ffff:0:0/96'), 'ipv4-mapped'],
  [cidr('::ffff:0:0:0/96'), 'ipv4-translated'],
  [cidr('64:ff9b::/96'), 'nat64'],
  [cidr('2002::/16'), '6to4'],
  [cidr('2001::/32'), 'teredo'],
];

const EMBEDDING_DESCRIPTION: Record<EmbeddingForm, string> = {
  'ipv4-mapped': 'an IPv4-mapped address',
  'ipv4-translated': 'an IPv4-translated address',
  nat64: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
};

const RANGE_DESCRIPTION: Record<BlockedRange, string> = {
  unspecified: 'an unspecified ("this network") address',
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  'link-local': 'a link-local address',
  cgnat: 'a shared carrier-grade NAT (RFC 6598) address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  benchmarking: 'a benchmarking (RFC 2544) address',
  documentation: 'a documentation address',
  'unique-local': 'an IPv6 unique-local address',
  'site-local': 'a deprecated IPv6 site-local address',
  'ipv4-mapped': 'an IPv4-mapped IPv6 address',
  'ipv4-translated': 'an IPv4-translated IPv6 address',
  'ipv4-compatible': 'a deprecated IPv4-compatible IPv6 address',
  nat64: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
};

interface AddressAnalysis {
  readonly classification: AddressClass;
  /** Present when an IPv6 form carries a non-public IPv4 address. */
  readonly embedded?: { readonly address: string; readonly classification: BlockedRange };
}

function v4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function embeddedIpv4s(address: ipaddr.IPv6, form: EmbeddingForm): ipaddr.IPv4[] {
  const parts = address.parts;
  const word = (i: number): number => parts[i] ?? 0;
  switch (form) {
    case 'ipv4-mapped':
    case 'ipv4-translated':
    case 'nat64':
      return [v4FromWords(word(6), word(7))];
    case '6to4':
      return [v4FromWords(word(1), word(2))];
    case 'teredo':
      // Server address in bits 32–63; client address obfuscated (inverted) in the last 32.
      return [v4FromWords(word(2), word(3)), v4FromWords(~word(6) & 0xffff, ~word(7) & 0xffff)];
  }
}

function classifyIpv4(address: ipaddr.IPv4): AddressClass {
  for (const [range, name] of IPV4_BLOCKED) {
    if (address.match(range)) return name;
  }
  return 'public';
}

function analyse(address: IpAddress): AddressAnalysis {
  if (address.kind() === 'ipv4') return { classification: classifyIpv4(address as ipaddr.IPv4) };
  const v6 = address as ipaddr.IPv6;
  for (const [range, form] of EMBEDDING_FORMS) {
    if (!v6.match(range)) continue;
    for (const v4 of embeddedIpv4s(v6, form)) {
      const inner = classifyIpv4(v4);
      if (inner !== 'public') {
        return { classification: form, embedded: { address: v4.toString(), classification: inner } };
      }
    }
    return { classification: 'public' };
  }
  for (const [range, name] of IPV6_BLOCKED) {
    if (v6.match(range)) return { classification: name };
  }
  // Everything outside 2000::/3 not listed above is unallocated or reserved by IANA.
  if (!v6.match(GLOBAL_UNICAST_V6)) return { classification: 'reserved' };
  return { classification: 'public' };
}

/**
 * ipaddr.js reads any IPv6 text ending in a dotted quad as IPv4-mapped ("::127.0.0.1"
 * becomes ::ffff:127.0.0.1), so the quad is rewritten as two hex words first.
 */
function expandTrailingDottedQuad(text: string): string {
  const match = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!match) return text;
  const octets = match.slice(2, 6).map(Number);
  if (octets.some((octet) => octet > 255)) return text;
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return `${match[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function parseAddress(ip: string): IpAddress {
  const bare = ip.trim().replace(/^\[(.*)\]$/, '$1');
  const text = bare.includes(':') ? expandTrailingDottedQuad(bare) : bare;
  // isValid rejects garbage; parse() then also accepts the legacy IPv4 spellings URL accepts.
  if (!ipaddr.isValid(text)) throw new InvalidAddressError(ip);
  return ipaddr.parse(text);
}

function canonical(address: IpAddress): string {
  return address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

/** 'public' or the name of the blocked range `ip` falls in. Throws InvalidAddressError. */
export function classifyAddress(ip: string): AddressClass {
  return analyse(parseAddress(ip)).classification;
}

function inAllowList(address: IpAddress, allowedCidrs: readonly ParsedCidr[]): boolean {
  // An IPv4-mapped address matches IPv4 entries too: it reaches the same host.
  const candidates: IpAddress[] = [address];
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    candidates.push((address as ipaddr.IPv6).toIPv4Address());
  }
  return allowedCidrs.some((entry) =>
    candidates.some((candidate) => candidate.kind() === entry.network.kind() && candidate.match(entry.network, entry.prefixLength)),
  );
}

/** True when `ip` is public or inside one of `allowedCidrs` (the operator's exemptions). */
export function isAddressAllowed(ip: string, allowedCidrs: readonly ParsedCidr[]): boolean {
  return checkResolvedAddress(ip, allowedCidrs) === null;
}

/** null when `ip` may be connected to; otherwise the reason it may not. */
export function checkResolvedAddress(ip: string, allowedCidrs: readonly ParsedCidr[]): BlockedDestinationError | null {
  const address = parseAddress(ip);
  if (inAllowList(address, allowedCidrs)) return null;
  const analysis = analyse(address);
  if (analysis.classification === 'public') return null;
  return blockedError(canonical(address), analysis);
}

function blockedError(address: string, analysis: AddressAnalysis): BlockedDestinationError {
  const range = analysis.classification as BlockedRange;
  const reason = analysis.embedded
    ? `${address} is ${EMBEDDING_DESCRIPTION[range as EmbeddingForm]} of ${analysis.embedded.address}, ${RANGE_DESCRIPTION[analysis.embedded.classification]}`
    : `${address} is ${RANGE_DESCRIPTION[range]}`;
  return new BlockedDestinationError(address, range, reason);
}

/**
 * Parses "127.0.0.0/8, ::1/128" (commas and/or whitespace between entries). A bare
 * address means a single host (/32 or /128). Empty input → []. Throws CidrListError.
 */
export function parseCidrList(text: string): ParsedCidr[] {
  const entries = text.split(/[\s,]+/).filter((entry) => entry !== '');
  return entries.map((entry, index) => {
    const withPrefix = entry.includes('/') ? entry : `${entry}/${entry.includes(':') ? 128 : 32}`;
    // isValidCIDR is strict about dotted-quad IPv4, so "127.1/8" is refused rather than guessed.
    const strict = withPrefix.includes(':')
      ? ipaddr.IPv6.isValidCIDR(withPrefix)
      : ipaddr.IPv4.isValidCIDRFourPartDecimal(withPrefix);
    if (!strict) throw new CidrListError(entry, index + 1);
    const [network, prefixLength] = ipaddr.parseCIDR(withPrefix);
    return { network, prefixLength, source: entry };
  });
}

export type UrlHost =
  | { readonly kind: 'ip'; readonly address: string; readonly family: 4 | 6 }
  | { readonly kind: 'name'; readonly hostname: string };

/**
 * The host of `url`, canonicalised by the WHATWG URL parser: legacy IPv4 spellings
 * (127.1, 2130706433, 0x7f000001, 0177.0.0.1) come back as dotted quads, IPv6 without
 * brackets. Names are lowercased with any trailing dot removed. Throws InvalidUrlError.
 */
export function parseUrlHost(url: string): UrlHost {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidUrlError(url);
  }
  const host = parsed.hostname;
  if (host === '') throw new InvalidUrlError(url, 'has no host');
  if (host.startsWith('[') && host.endsWith(']')) {
    const address = parseAddress(host.slice(1, -1));
    return { kind: 'ip', address: canonical(address), family: 6 };
  }
  // The URL parser turns every numeric IPv4 spelling into a dotted quad; anything else is a name.
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) {
    return { kind: 'ip', address: host, family: 4 };
  }
  return { kind: 'name', hostname: host.replace(/\.$/, '').toLowerCase() };
}

// RFC 6761: "localhost" and its subdomains always mean loopback, whatever DNS says.
function isLocalhostName(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost');
}

/**
 * Checks the host of `url` without resolving it: null when it is a name (checked at
 * delivery time) or an allowed address, else a BlockedDestinationError. "localhost"
 * names count as 127.0.0.1. Throws InvalidUrlError for an unparseable URL.
 */
export function checkLiteralDestination(url: string, allowedCidrs: readonly ParsedCidr[]): BlockedDestinationError | null {
  const host = parseUrlHost(url);
  if (host.kind === 'ip') return checkResolvedAddress(host.address, allowedCidrs);
  if (isLocalhostName(host.hostname)) {
    const blocked = checkResolvedAddress('127.0.0.1', allowedCidrs);
    return blocked && new BlockedDestinationError(host.hostname, 'loopback', `${host.hostname} always names a loopback address`);
  }
  return null;
}
