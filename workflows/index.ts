// The Temporal workflow bundle's entry point: every workflow the worker runs.
export { deliverEvent } from './deliver-event';
