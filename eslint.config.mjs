// Workflow code runs in Temporal's deterministic sandbox and is replayed from history:
// it may import only the workflow SDK, @temporalio/common and pure domain modules, and
// activities only as types. This rule makes that a build error rather than a replay bug.
import tseslint from 'typescript-eslint';

const SIDE_EFFECT_MODULES = [
  'mongodb',
  'undici',
  'fastify',
  'pino',
  'nodemailer',
  'liquidjs',
  'zod',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tools/**', 'bench/results/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: SIDE_EFFECT_MODULES.map((name) => ({ name, message: 'not allowed in workflow code: do I/O in activities' })),
          patterns: [
            { group: ['node:*', 'fs', 'net', 'http', 'https', 'crypto', 'child_process', 'os', 'path'], message: 'node built-ins are not deterministic: use activities' },
            { group: ['**/activities', '**/activities/*'], allowTypeImports: true, message: 'import activities as types only and call them through proxyActivities' },
            { group: ['**/src/store/*', '**/src/delivery/*', '**/src/api/*', '**/src/runtime/*', '**/src/infra/*', '**/src/security/*'], allowTypeImports: true, message: 'side-effect modules are for activities' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' }],
    },
  },
);
