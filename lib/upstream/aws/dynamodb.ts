import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { containerCell } from '../../platform/container-state.js';
import { AWS_CLIENT_OPTIONS } from './client-options.js';

/** The container's DynamoDB client, for the stop ledger (it honours `AWS_ENDPOINT_URL`). */
export const getDynamoDbClient = /* @__PURE__ */ containerCell(() => new DynamoDBClient(AWS_CLIENT_OPTIONS));
