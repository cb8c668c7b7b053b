import { startDispatcherRole } from '../../roles/dispatcher-role';
import { startWorkerRole } from '../../roles/worker-role';
import { runRoles } from '../run-roles';

export const workerCommand = async (): Promise<void> => runRoles([startWorkerRole]);
export const dispatcherCommand = async (): Promise<void> => runRoles([startDispatcherRole]);
export const startCommand = async (): Promise<void> => runRoles([startWorkerRole, startDispatcherRole]);
