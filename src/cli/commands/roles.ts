import { startApiRole } from '../../roles/api-role';
import { startDispatcherRole } from '../../roles/dispatcher-role';
import { startWorkerRole } from '../../roles/worker-role';
import { runRoles } from '../run-roles';

export const workerCommand = async (): Promise<void> => runRoles([startWorkerRole]);
export const dispatcherCommand = async (): Promise<void> => runRoles([startDispatcherRole]);
// Stopped in reverse: the API stops taking requests first, the worker finishes last.
export const startCommand = async (): Promise<void> => runRoles([startWorkerRole, startDispatcherRole, startApiRole]);
