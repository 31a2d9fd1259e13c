import { vi } from 'vitest';

/**
 * Stubs the environment a function needs when its IAM and LakeFormation calls go to an injected
 * transport (no network): placeholder endpoints, the env credentials trio and the given extras.
 */
export function stubOfflineEnv(values: {
  instanceId: string;
  allowedInstanceIds: string;
  password: string;
  extra?: Record<string, string>;
}): void {
  const env: Record<string, string> = {
    LAKEFORMATION_ENDPOINT: 'https://lakeformation.test',
    HUAWEICLOUD_IAM_ENDPOINT: 'https://iam.test',
    LAKEFORMATION_PROJECT_ID: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    LAKEFORMATION_INSTANCE_ID: values.instanceId,
    LAKEFORMATION_ALLOWED_INSTANCE_IDS: values.allowedInstanceIds,
    HUAWEICLOUD_USER_NAME: 'stopper',
    HUAWEICLOUD_PASSWORD: values.password,
    HUAWEICLOUD_DOMAIN_NAME: 'acme',
    // on a mocked DynamoDB client (test/support/stop-job-offline.ts)
    STOP_LEDGER_TABLE: 'unit-ledger',
    STOP_CONFIRM_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/unit-confirm',
    STOP_EVENT_BUS_NAME: 'unit-events',
    ...values.extra,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}
