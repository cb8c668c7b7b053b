import { describe, expect, it } from 'vitest';
import {
  isValidEventTypePattern,
  isWellFormedEventTypePattern,
  matchesAnyEventType,
  matchesEventType,
} from '../../src/domain/event-type-pattern';

const KNOWN = [
  'object.created',
  'objects.created.batch',
  'cluster.created',
  'cluster.execution.completed',
  'collection.documents.written',
];

describe('matchesEventType', () => {
  it('matches exact types only exactly', () => {
    expect(matchesEventType('object.created', 'object.created')).toBe(true);
    expect(matchesEventType('object.created', 'object.updated')).toBe(false);
    expect(matchesEventType('object.created', 'object.created.extra')).toBe(false);
  });

  it('matches everything with *', () => {
    for (const type of KNOWN) expect(matchesEventType('*', type)).toBe(true);
  });

  it('matches one or more further segments with prefix.*', () => {
    expect(matchesEventType('cluster.*', 'cluster.created')).toBe(true);
    expect(matchesEventType('cluster.*', 'cluster.execution.completed')).toBe(true);
    expect(matchesEventType('cluster.execution.*', 'cluster.execution.completed')).toBe(true);
    expect(matchesEventType('cluster.execution.*', 'cluster.created')).toBe(false);
  });

  it('does not match the prefix itself or a longer word sharing its letters', () => {
    expect(matchesEventType('cluster.*', 'cluster')).toBe(false);
    expect(matchesEventType('object.*', 'objects.created.batch')).toBe(false);
    expect(matchesEventType('obj.*', 'object.created')).toBe(false);
  });

  it('is case-sensitive', () => {
    expect(matchesEventType('Object.created', 'object.created')).toBe(false);
  });

  it('matchesAnyEventType checks every pattern', () => {
    expect(matchesAnyEventType(['object.created', 'cluster.*'], 'cluster.created')).toBe(true);
    expect(matchesAnyEventType(['object.created'], 'cluster.created')).toBe(false);
    expect(matchesAnyEventType([], 'cluster.created')).toBe(false);
  });
});

describe('isValidEventTypePattern', () => {
  it('accepts known types, * and wildcards that match something', () => {
    expect(isValidEventTypePattern('object.created', KNOWN)).toBe(true);
    expect(isValidEventTypePattern('*', KNOWN)).toBe(true);
    expect(isValidEventTypePattern('cluster.*', KNOWN)).toBe(true);
    expect(isValidEventTypePattern('objects.*', KNOWN)).toBe(true);
    expect(isValidEventTypePattern('collection.documents.*', KNOWN)).toBe(true);
  });

  it('rejects unknown types and wildcards matching nothing', () => {
    expect(isValidEventTypePattern('object.exploded', KNOWN)).toBe(false);
    expect(isValidEventTypePattern('taxonomy.*', KNOWN)).toBe(false);
    expect(isValidEventTypePattern('object.created.*', KNOWN)).toBe(false);
  });

  it('rejects wildcards anywhere but the end, and malformed text', () => {
    for (const pattern of ['*.created', 'cluster.*.completed', 'obj*', 'object.', '.*', '', '**', 'object..created', 'Object.created', ' object.created']) {
      expect(isWellFormedEventTypePattern(pattern)).toBe(false);
      expect(isValidEventTypePattern(pattern, KNOWN)).toBe(false);
    }
  });
});
