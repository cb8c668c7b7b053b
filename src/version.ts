import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './infra/repo-root';

/** hookrelay's version, from package.json; sent as `user-agent: hookrelay/<version>`. */
export const VERSION: string = (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;

export const USER_AGENT = `hookrelay/${VERSION}`;
