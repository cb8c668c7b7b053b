import { startApiRole } from '../../roles/api-role';
import { startDispatcherRole } from '../../roles/dispatcher-role';
import { startMetricsRole } from '../../roles/metrics-role';
import { startWorkerRole } from '../../roles/worker-role';
import { runRoles } from '../run-roles';

// On their own, a worker and a dispatcher serve their metrics on HOOKRELAY_METRICS_PORT, if set.
export const workerCommand = async (): Promise<void> => runRoles([startWorkerRole, startMetricsRole]);
export const dispatcherCommand = async (): Promise<void> => runRoles([startDispatcherRole, startMetricsRole]);
// Stopped in reverse: the API stops taking requests first, the worker finishes last.
export const startCommand = async (): Promise<void> => runRoles([startWorkerRole, startDispatcherRole, startApiRole]);
