import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../lib/upstream/huawei/signer.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { INSTANCE, PROJECT, testEmulator } from '../support/emulator.js';

const KEY = { accessKey: 'HPUAEMULATORTESTKEY1', secretKey: 'emulator-test-secret-key-1' };
const TEMPORARY = {
  accessKey: 'HPUATEMPORARYKEY0001',
  secretKey: 'emulator-temporary-secret',
  securityToken: 'emulator-security-token-1',
};

let emulator: LakeFormationEmulator;
/** The emulator's clock: the real one, moved by `clockOffsetMs`. */
let clockOffsetMs = 0;

beforeAll(async () => {
  emulator = await testEmulator({
    stopDelayMs: 0,
    accessKeys: [KEY, TEMPORARY],
    now: () => Date.now() + clockOffsetMs,
    jobs: [{ id: 'aksk-job-1', name: 'signed', type: 'METADATA_MIGRATION', status: 'RUNNING' }],
  });
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  clockOffsetMs = 0;
  emulator.restoreSettings();
});

const jobUrl = () => `${emulator.url}/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs/aksk-job-1`;

/** A GET of the seeded job, signed with `key` at `now`, its headers changed by `tamper` after signing. */
async function signedGet(
  key: { accessKey: string; secretKey: string; securityToken?: string } = KEY,
  options: { now?: Date; tamper?: (headers: Record<string, string>) => void; projectId?: string } = {},
) {
  const url = jobUrl();
  const headers: Record<string, string> = {
    ...signRequest({
      method: 'GET',
      url,
      accessKey: key.accessKey,
      secretKey: key.secretKey,
      ...(key.securityToken !== undefined && { securityToken: key.securityToken }),
      projectId: options.projectId ?? PROJECT,
      now: options.now ?? new Date(),
    }),
  };
  options.tamper?.(headers);
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

describe('Emulator: AK/SK signatures', () => {
  it('serves a request signed with a known access key', async () => {
    const response = await signedGet();
    expect(response).toMatchObject({ status: 200, body: { id: 'aksk-job-1' } });
  });

  it('accepts a signed stop (POST) and counts it', async () => {
    const url = `${jobUrl()}/stop`;
    const headers = signRequest({ method: 'POST', url, ...KEY, projectId: PROJECT, now: new Date() });
    const before = emulator.counters.signed;
    const response = await fetch(url, { method: 'POST', headers: { ...headers } });
    expect(response.status).toBe(202);
    expect(emulator.counters.signed).toBe(before + 1);
  });

  it('refuses a signature made with the wrong secret key: 401 APIG.0301', async () => {
    const response = await signedGet({ ...KEY, secretKey: 'not-the-secret-key' });
    expect(response.status).toBe(401);
    expect(response.body.error_code).toBe('APIG.0301');
    expect(response.body.error_msg).toContain('signature');
  });

  it('refuses an unknown access key', async () => {
    const response = await signedGet({ accessKey: 'HPUAUNKNOWNKEY000001', secretKey: KEY.secretKey });
    expect(response).toMatchObject({ status: 401, body: { error_code: 'APIG.0301' } });
  });

  it('refuses a request whose signed header was changed after signing', async () => {
    const response = await signedGet(KEY, {
      tamper: (headers) => {
        headers['X-Project-Id'] = 'ffffffffffffffffffffffffffffffff';
      },
    });
    expect(response).toMatchObject({ status: 401, body: { error_code: 'APIG.0301' } });
  });

  it('refuses a date more than 15 minutes from its clock, saying so', async () => {
    const response = await signedGet(KEY, { now: new Date(Date.now() - 16 * 60_000) });
    expect(response.status).toBe(401);
    expect(response.body.error_msg).toMatch(/15 minutes/);
  });

  it('takes a date 14 minutes off', async () => {
    clockOffsetMs = 14 * 60_000;
    expect((await signedGet()).status).toBe(200);
  });

  it('requires the security token of temporary credentials', async () => {
    expect((await signedGet(TEMPORARY)).status).toBe(200);
    const { securityToken: _, ...withoutToken } = TEMPORARY;
    const response = await signedGet(withoutToken);
    expect(response).toMatchObject({ status: 401, body: { error_code: 'APIG.0301' } });
  });

  it('refuses a signature for another project with 403', async () => {
    const response = await signedGet(KEY, { projectId: 'ffffffffffffffffffffffffffffffff' });
    expect(response.status).toBe(403);
  });

  it('refuses tokens when told to require signatures, and still serves signed requests', async () => {
    emulator.update({ requireSignatures: true });
    const unsigned = await fetch(jobUrl(), { headers: { 'X-Auth-Token': 'MIIanything' } });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error_code: string }).error_code).toBe('APIG.0301');
    expect((await signedGet()).status).toBe(200);
  });
});
