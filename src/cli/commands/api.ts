import { startApiRole } from '../../roles/api-role';
import { runRoles } from '../run-roles';

/** `hookrelay api`: the REST API alone. */
export const apiCommand = async (): Promise<void> => runRoles([startApiRole]);
