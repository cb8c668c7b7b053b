// The Temporal workflow bundle's entry point: every workflow the worker runs.
export { deliverEvent } from './deliver-event';
export { muxAssetLifecycle } from './mux-asset-lifecycle';
