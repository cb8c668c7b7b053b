/**
 * Provisions what the tests and `hookrelay dev` need, from package registries only:
 * the Temporal CLI (built once from its Go module), the MongoDB stand-in (jars from
 * Maven Central) and the schemathesis API fuzzer (PyPI, in a virtualenv). All are cached
 * in .tools/ and reused.
 */
import { provisionMongoStandin } from '../src/infra/mongo-server';
import { provisionSchemathesis } from '../src/infra/schemathesis';
import { provisionTemporalCli } from '../src/infra/temporal-server';

async function main(): Promise<void> {
  const started = Date.now();
  const log = (line: string) => console.log(`[provision] ${line}`);
  const [temporal, , schemathesis] = await Promise.all([
    provisionTemporalCli(process.env, log),
    process.env.MONGODB_URL ? Promise.resolve('') : provisionMongoStandin(),
    provisionSchemathesis(log),
  ]);
  log(`Temporal CLI: ${temporal}; schemathesis: ${schemathesis}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: Error) => {
  console.error(`[provision] failed: ${error.message}`);
  process.exit(1);
});
