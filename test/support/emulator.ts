import { inject } from 'vitest';
import {
  type EmulatorOptions,
  type LakeFormationEmulator,
  startEmulator,
} from '../../local/emulator/server.js';

export const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
export const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
export const OTHER_INSTANCE = '7d3c1a52-0c6e-4f0e-9d7b-3b0e5d2f9a11';
export const USER = { name: 'lf-stopper', password: 'integration-test-password', domain: 'test-domain' };

/** An emulator on a free port with the test project, two instances and one IAM user. */
export function testEmulator(options: Partial<EmulatorOptions> = {}): Promise<LakeFormationEmulator> {
  return startEmulator({
    projectId: PROJECT,
    instances: [INSTANCE, OTHER_INSTANCE],
    users: [USER],
    stopDelayMs: 50,
    ...options,
  });
}

/**
 * The environment a function needs to run against `emulator` with the env credentials trio, and the
 * suite's ledger table on moto.
 */
export function emulatorEnv(emulator: LakeFormationEmulator): Record<string, string> {
  return {
    STOP_LEDGER_TABLE: inject('ledgerTable'),
    STOP_CONFIRM_QUEUE_URL: inject('confirmQueueUrl'),
    STOP_EVENT_BUS_NAME: inject('eventBusName'),
    LAKEFORMATION_ENDPOINT: emulator.url,
    HUAWEICLOUD_IAM_ENDPOINT: emulator.url,
    LAKEFORMATION_PROJECT_ID: PROJECT,
    LAKEFORMATION_INSTANCE_ID: INSTANCE,
    LAKEFORMATION_ALLOWED_INSTANCE_IDS: OTHER_INSTANCE,
    HUAWEICLOUD_USER_NAME: USER.name,
    HUAWEICLOUD_PASSWORD: USER.password,
    HUAWEICLOUD_DOMAIN_NAME: USER.domain,
  };
}
