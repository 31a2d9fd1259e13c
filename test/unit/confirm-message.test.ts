import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { MAX_KEPT_REQUESTS } from '../../lib/domain/ledger/records.js';
import { firstCheck } from '../../lib/domain/lifecycle/confirm.js';
import { parseCheck, recordOfCheck } from '../../lib/edge/queue/confirm-batch.js';

const schema = JSON.parse(
  readFileSync(new URL('../../docs/confirm-message.schema.json', import.meta.url), 'utf8'),
);
// formats (uuid, date-time) are the parser's to check
const validate = new Ajv2020({ strict: true, validateFormats: false }).compile(schema);

const SETTINGS = { firstCheckSeconds: 30, windowSeconds: 1800 };
const ACCEPTED = Date.parse('2026-12-01T12:00:00.000Z');
const STOP = {
  stopId: '019ad7a4-5c00-7b3e-9a4f-2c1d0e9f8a7b',
  jobId: '03141229-84cd-4b1b-9733-dd124320c125',
  instanceId: '2180518f-42b8-4947-b20b-adfc53981a25',
  runStartedAt: '2026-12-01T08:00:00.000Z',
  requests: [
    { source: 'webhook', caller: 'bearer:0', reason: 'runaway', at: '2026-12-01T11:59:59.000Z' },
    { source: 'stale-job-reaper', at: '2026-12-01T11:59:59.500Z' },
  ],
  requestCount: 7,
};

describe('the confirm queue message (docs/confirm-message.schema.json)', () => {
  it('is what the first check of a stop is, with what its record keeps, and reads back as it was', () => {
    const check = firstCheck(STOP, ACCEPTED, SETTINGS);
    expect(validate(check)).toBe(true);
    expect(parseCheck(JSON.stringify(check))).toEqual(check);
    expect(check).toMatchObject({ requests: STOP.requests, requestCount: 7 });
    // as the checks after it carry it
    const later = { ...check, delaySeconds: 300, checks: 5, retried: true };
    expect(validate(later)).toBe(true);
  });

  it('holds the most requests a record keeps', () => {
    const requests = Array.from({ length: MAX_KEPT_REQUESTS }, (_, i) => ({
      source: 's'.repeat(64),
      reason: 'r'.repeat(256),
      at: new Date(ACCEPTED - i).toISOString(),
    }));
    expect(validate(firstCheck({ ...STOP, requests }, ACCEPTED, SETTINGS))).toBe(true);
    const oneMore = [...requests, { source: 'webhook', at: new Date(ACCEPTED).toISOString() }];
    expect(validate(firstCheck({ ...STOP, requests: oneMore }, ACCEPTED, SETTINGS))).toBe(false);
  });

  it('is still read without requests (a check queued before they were carried)', () => {
    const { requests: _r, requestCount: _c, ...bare } = firstCheck(STOP, ACCEPTED, SETTINGS);
    expect(validate(bare)).toBe(true);
    expect(parseCheck(JSON.stringify(bare))).toEqual(bare);
    expect(recordOfCheck(bare)).toMatchObject({ requests: [], requestCount: 0 });
  });

  it.each([
    ['requests not a list', { requests: 'webhook' }],
    ['a request without source', { requests: [{ at: '2026-12-01T11:59:59.000Z' }] }],
    ['a request without at', { requests: [{ source: 'webhook' }] }],
    ['a reason that is not text', { requests: [{ source: 'webhook', at: 'x', reason: 7 }] }],
    ['a negative requestCount', { requestCount: -1 }],
    ['a fractional requestCount', { requestCount: 1.5 }],
  ])('is refused with %s, by the schema and the parser', (_name, change) => {
    const check = { ...firstCheck(STOP, ACCEPTED, SETTINGS), ...change };
    expect(validate(check)).toBe(false);
    expect(parseCheck(JSON.stringify(check))).toBeUndefined();
  });
});

describe('Function: recordOfCheck()', () => {
  it('is the record the stop would have had: REQUESTED since its acceptance, with its requests', () => {
    expect(recordOfCheck(firstCheck(STOP, ACCEPTED, SETTINGS))).toEqual({
      stopId: STOP.stopId,
      jobId: STOP.jobId,
      instanceId: STOP.instanceId,
      runStartedAt: STOP.runStartedAt,
      state: 'REQUESTED',
      outcome: 'STOP_REQUESTED',
      createdAt: '2026-12-01T12:00:00.000Z',
      updatedAt: '2026-12-01T12:00:00.000Z',
      requests: STOP.requests,
      requestCount: 7,
      events: [
        {
          at: '2026-12-01T12:00:00.000Z',
          type: 'Stop Requested',
          detail: { outcome: 'STOP_REQUESTED', recordedBy: 'confirmation check' },
        },
      ],
    });
  });
});
