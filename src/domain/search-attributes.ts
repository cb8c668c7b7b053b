import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes that make hookrelay's workflows findable in the Temporal UI
 * (docs/architecture.md, Temporal). Workflow-safe: only @temporalio/common.
 */
export const EVENT_TYPE = defineSearchAttributeKey('HookrelayEventType', SearchAttributeType.KEYWORD);
export const ORGANIZATION = defineSearchAttributeKey('HookrelayOrganization', SearchAttributeType.KEYWORD);
export const NAMESPACE = defineSearchAttributeKey('HookrelayNamespace', SearchAttributeType.KEYWORD);
export const WEBHOOK_IDS = defineSearchAttributeKey('HookrelayWebhookIds', SearchAttributeType.KEYWORD_LIST);
export const OUTCOME = defineSearchAttributeKey('HookrelayOutcome', SearchAttributeType.KEYWORD);

export const HOOKRELAY_SEARCH_ATTRIBUTES = [EVENT_TYPE, ORGANIZATION, NAMESPACE, WEBHOOK_IDS, OUTCOME] as const;

/** The names the Temporal CLI's `--search-attribute NAME=Type` flag expects. */
export const CLI_SEARCH_ATTRIBUTE_TYPES: Record<string, string> = {
  HookrelayEventType: 'Keyword',
  HookrelayOrganization: 'Keyword',
  HookrelayNamespace: 'Keyword',
  HookrelayWebhookIds: 'KeywordList',
  HookrelayOutcome: 'Keyword',
};
