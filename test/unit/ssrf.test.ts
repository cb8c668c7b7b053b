import { describe, expect, it } from 'vitest';
import {
  BlockedDestinationError,
  checkLiteralDestination,
  checkResolvedAddress,
  CidrListError,
  classifyAddress,
  InvalidAddressError,
  InvalidUrlError,
  isAddressAllowed,
  parseCidrList,
  parseUrlHost,
} from '../../src/security/ssrf';

describe('parseUrlHost canonicalises literal spellings (WHATWG URL)', () => {
  it.each([
    'https://127.0.0.1/',
    'https://127.1/',
    'https://2130706433/',
    'https://0x7f000001/',
    'https://0177.0.0.1/',
    'https://0x7f.1/',
    'https://127.0.0.1./',
    'https://a@127.0.0.1:443',
  ])('%s → 127.0.0.1', (url) => {
    expect(parseUrlHost(url)).toEqual({ kind: 'ip', address: '127.0.0.1', family: 4 });
  });

  it.each([
    ['https://[::1]/', '::1'],
    ['https://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['https://[0:0:0:0:0:ffff:7f00:1]/', '::ffff:7f00:1'],
    ['https://[2606:4700:0:0:0:0:0:1111]:8443/x', '2606:4700::1111'],
  ])('%s → IPv6 %s without brackets', (url, address) => {
    expect(parseUrlHost(url)).toEqual({ kind: 'ip', address, family: 6 });
  });

  it('takes the host after userinfo, not before', () => {
    expect(parseUrlHost('https://127.0.0.1@example.com/')).toEqual({ kind: 'name', hostname: 'example.com' });
  });

  it('lowercases names and drops a trailing dot', () => {
    expect(parseUrlHost('https://Hooks.Example.COM./x')).toEqual({ kind: 'name', hostname: 'hooks.example.com' });
  });

  it.each(['not a url', '/relative', 'https://1.2.3.4.5/', 'https://256.1.1.1/', 'https://[::1/'])('rejects %j', (url) => {
    expect(() => parseUrlHost(url)).toThrow(InvalidUrlError);
  });
});

describe('checkLiteralDestination', () => {
  it.each([
    ['https://127.0.0.1/', 'loopback'],
    ['https://127.1/', 'loopback'],
    ['https://2130706433/', 'loopback'],
    ['https://0x7f000001/', 'loopback'],
    ['https://0177.0.0.1/', 'loopback'],
    ['https://[::1]/', 'loopback'],
    ['https://[::ffff:127.0.0.1]/', 'ipv4-mapped'],
    ['https://[0:0:0:0:0:ffff:7f00:1]/', 'ipv4-mapped'],
    ['https://0.0.0.0/', 'unspecified'],
    ['https://[::]/', 'unspecified'],
    ['https://10.1.2.3/', 'private'],
    ['https://172.16.0.1/', 'private'],
    ['https://172.31.255.255/', 'private'],
    ['https://192.168.1.1/', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'link-local'],
    ['https://169.254.1.1/', 'link-local'],
    ['https://100.64.0.1/', 'cgnat'],
    ['https://198.18.0.1/', 'benchmarking'],
    ['https://224.0.0.1/', 'multicast'],
    ['https://255.255.255.255/', 'broadcast'],
    ['https://[fc00::1]/', 'unique-local'],
    ['https://[fd12::1]/', 'unique-local'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://a@127.0.0.1:443', 'loopback'],
    ['https://localhost:8443/', 'loopback'],
    ['https://api.localhost/', 'loopback'],
  ])('blocks %s (%s)', (url, range) => {
    const blocked = checkLiteralDestination(url, []);
    expect(blocked).toBeInstanceOf(BlockedDestinationError);
    expect(blocked?.range).toBe(range);
  });

  it('explains an IPv4-mapped block with the embedded address', () => {
    expect(checkLiteralDestination('https://[::ffff:127.0.0.1]/', [])?.reason).toBe(
      '::ffff:7f00:1 is an IPv4-mapped address of 127.0.0.1, a loopback address',
    );
  });

  it.each(['https://8.8.8.8/', 'https://1.1.1.1/', 'https://[2606:4700::1111]/', 'https://hooks.example.com/x', 'https://[::ffff:8.8.8.8]/'])(
    'allows %s',
    (url) => {
      expect(checkLiteralDestination(url, [])).toBeNull();
    },
  );

  it('lets an allow-listed range through', () => {
    const allowed = parseCidrList('127.0.0.0/8');
    expect(checkLiteralDestination('https://127.0.0.1:3000/', allowed)).toBeNull();
    expect(checkLiteralDestination('https://127.1/', allowed)).toBeNull();
    expect(checkLiteralDestination('https://localhost:3000/', allowed)).toBeNull();
    // …and an IPv4-mapped spelling of it, which reaches the same host.
    expect(checkLiteralDestination('https://[::ffff:127.0.0.1]/', allowed)).toBeNull();
    // …but nothing else.
    expect(checkLiteralDestination('https://10.0.0.1/', allowed)?.range).toBe('private');
    expect(checkLiteralDestination('https://[::1]/', allowed)?.range).toBe('loopback');
  });
});

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['2606:4700::1111', 'public'],
    ['2a00:1450:4001:80b::200e', 'public'],
    ['0.1.2.3', 'unspecified'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.19.255.255', 'benchmarking'],
    ['198.20.0.1', 'public'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.1', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001:2::1', 'benchmarking'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['::127.0.0.1', 'ipv4-compatible'],
    ['::8.8.8.8', 'ipv4-compatible'],
    ['::ffff:10.0.0.1', 'ipv4-mapped'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:0:7f00:1', 'ipv4-translated'],
    ['64:ff9b::10.0.0.1', 'nat64'],
    ['64:ff9b::a9fe:a9fe', 'nat64'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['64:ff9b:1::1', 'reserved'],
    ['2002:7f00:1::1', '6to4'],
    ['2002:c0a8:101::1', '6to4'],
    ['2002:808:808::1', 'public'],
    // Teredo: client 192.0.2.45 (documentation), obfuscated in the last 32 bits.
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
    // Teredo: server 10.0.0.1.
    ['2001:0:a00:1:8000:63bf:f7f7:f7f7', 'teredo'],
    // Teredo: server 65.54.227.120, client 8.8.8.8.
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'public'],
    ['[::1]', 'loopback'],
    ['fe80::1%eth0', 'link-local'],
  ])('%s is %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each(['', 'localhost', '1.2.3.4.5', '::g', '300.1.1.1'])('throws InvalidAddressError for %j', (ip) => {
    expect(() => classifyAddress(ip)).toThrow(InvalidAddressError);
  });
});

describe('isAddressAllowed / checkResolvedAddress', () => {
  it('allows public and refuses blocked addresses without an allow-list', () => {
    expect(isAddressAllowed('8.8.8.8', [])).toBe(true);
    expect(isAddressAllowed('127.0.0.1', [])).toBe(false);
    expect(isAddressAllowed('::1', [])).toBe(false);
  });

  it('exempts allow-listed ranges, matching mapped addresses against IPv4 entries', () => {
    const allowed = parseCidrList('127.0.0.0/8, ::1/128, 10.1.0.0/16');
    expect(isAddressAllowed('127.0.0.1', allowed)).toBe(true);
    expect(isAddressAllowed('127.255.0.1', allowed)).toBe(true);
    expect(isAddressAllowed('::1', allowed)).toBe(true);
    expect(isAddressAllowed('::ffff:127.0.0.1', allowed)).toBe(true);
    expect(isAddressAllowed('10.1.200.3', allowed)).toBe(true);
    expect(isAddressAllowed('10.2.0.1', allowed)).toBe(false);
    expect(isAddressAllowed('192.168.0.1', allowed)).toBe(false);
  });

  it('returns a typed error naming the address and range', () => {
    const blocked = checkResolvedAddress('169.254.169.254', []);
    expect(blocked).toBeInstanceOf(BlockedDestinationError);
    expect(blocked).toMatchObject({ address: '169.254.169.254', range: 'link-local' });
    expect(blocked?.message).toBe('destination blocked: 169.254.169.254 is a link-local address');
  });
});

describe('parseCidrList', () => {
  it('parses commas and whitespace, bare addresses as single hosts', () => {
    const list = parseCidrList(' 127.0.0.0/8, ::1/128\n10.0.0.5 ,, fd00::/8 ');
    expect(list.map((entry) => [entry.source, entry.network.toString(), entry.prefixLength])).toEqual([
      ['127.0.0.0/8', '127.0.0.0', 8],
      ['::1/128', '::1', 128],
      ['10.0.0.5', '10.0.0.5', 32],
      ['fd00::/8', 'fd00::', 8],
    ]);
  });

  it('returns [] for empty input', () => {
    expect(parseCidrList('')).toEqual([]);
    expect(parseCidrList(' , ')).toEqual([]);
  });

  it.each(['127.0.0.0/33', '::1/129', 'localhost', '127.1/8', '10.0.0.0/', '10.0.0.0/8/8', '1.2.3.4.5/32'])('rejects %j clearly', (text) => {
    expect(() => parseCidrList(`127.0.0.0/8, ${text}`)).toThrow(CidrListError);
    expect(() => parseCidrList(`127.0.0.0/8, ${text}`)).toThrow(`invalid CIDR range "${text}" (entry 2)`);
  });
});
