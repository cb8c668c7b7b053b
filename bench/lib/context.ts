import type { Client } from '@temporalio/client';
import type { MongoClient } from 'mongodb';
import type { SecretBox } from '../../src/security/secret-box';
import type { ProcessSampler } from './process-sampler';
import type { Profile } from './profiles';
import type { BenchReceiver } from './receiver';

/** Everything a scenario needs: the run's servers, receiver, sampler and settings. */
export interface BenchContext {
  profile: Profile;
  /** Short random tag of this run: part of every database and task queue name. */
  runTag: string;
  temporalAddress: string;
  mongoUrl: string;
  /** A Temporal client of the bench itself (visibility counts, histories). */
  temporal: Client;
  /** A MongoDB client of the bench itself (subscribers, inserts). */
  mongo: MongoClient;
  receiver: BenchReceiver;
  /** Tracks "temporal-server", "mongodb", "bench" and the scenario's processes. */
  sampler: ProcessSampler;
  /** The floor's workflow bundle (bench/floor/workflows.ts). */
  floorBundlePath: string;
  /** HOOKRELAY_ENCRYPTION_KEY of the hookrelay processes; `box` seals with it. */
  encryptionKey: string;
  box: SecretBox;
  /** Aborted on Ctrl-C: loops stop early. */
  signal: AbortSignal;
  /** Progress line on stderr. */
  log(message: string): void;
  /** Registers a stopper run at the end or on Ctrl-C; the returned function unregisters it. */
  defer(stop: () => Promise<void>): () => void;
  /** Facts learnt during the run, for the report's settings. */
  observed: { workerSettings?: Record<string, unknown> };
}
