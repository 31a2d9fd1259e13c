import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { containerCell } from '../../platform/container-state.js';
import { AWS_CLIENT_OPTIONS } from './client-options.js';

/** The container's EventBridge client, for lifecycle events (it honours `AWS_ENDPOINT_URL`). */
export const getEventBridgeClient = /* @__PURE__ */ containerCell(
  () => new EventBridgeClient(AWS_CLIENT_OPTIONS),
);
