import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { checkStopMessage, parseStopMessage } from '../../lib/domain/stop-request.js';

const schema = JSON.parse(
  readFileSync(new URL('../../docs/stop-message.schema.json', import.meta.url), 'utf8'),
);
const validate = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(schema);

const CASES: [string, unknown][] = [
  ['minimal', { jobId: '03141229-84cd-4b1b-9733-dd124320c125' }],
  ['all fields', { jobId: 'a', instanceId: 'b-1', reason: 'r', source: 'stale-job-reaper' }],
  ['64-character id', { jobId: 'x'.repeat(64) }],
  ['65-character id', { jobId: 'x'.repeat(65) }],
  ['id with a slash', { jobId: 'a/b' }],
  ['id with a dot', { jobId: 'a.b' }],
  ['empty id', { jobId: '' }],
  ['numeric id', { jobId: 7 }],
  ['bad instance', { jobId: 'a', instanceId: '..' }],
  ['reason of 256', { jobId: 'a', reason: 'r'.repeat(256) }],
  ['reason of 257', { jobId: 'a', reason: 'r'.repeat(257) }],
  ['reason of 256 emoji (512 UTF-16 units)', { jobId: 'a', reason: '🛑'.repeat(256) }],
  ['reason of 257 emoji', { jobId: 'a', reason: '🛑'.repeat(257) }],
  ['source of 64 accented letters', { jobId: 'a', source: '𝒶'.repeat(64) }],
  ['source of 65', { jobId: 'a', source: 's'.repeat(65) }],
  ['unknown field', { jobId: 'a', priority: 1 }],
  ['runStartedAt in milliseconds, UTC', { jobId: 'a', runStartedAt: '2026-05-27T10:04:35.743Z' }],
  ['runStartedAt in microseconds, +08:00', { jobId: 'a', runStartedAt: '2026-05-27T18:04:35.743219+08:00' }],
  ['runStartedAt without a zone', { jobId: 'a', runStartedAt: '2026-05-27 10:04:35' }],
  ['runStartedAt in lower case', { jobId: 'a', runStartedAt: '2026-05-27t10:04:35z' }],
  ['runStartedAt of a date only', { jobId: 'a', runStartedAt: '2026-05-27' }],
  ['runStartedAt of 40 characters', { jobId: 'a', runStartedAt: `2026-05-27T10:04:35.${'0'.repeat(19)}Z` }],
  ['runStartedAt of 41 characters', { jobId: 'a', runStartedAt: `2026-05-27T10:04:35.${'0'.repeat(20)}Z` }],
  ['runStartedAt as epoch milliseconds', { jobId: 'a', runStartedAt: 1779876275743 }],
  ['runStartedAt in words', { jobId: 'a', runStartedAt: 'this morning' }],
  ['no jobId', { reason: 'r' }],
  ['array', [{ jobId: 'a' }]],
  ['null', null],
  ['string', 'a'],
];

describe('Function: checkStopMessage()', () => {
  it.each(CASES)('agrees with docs/stop-message.schema.json on %s', (_name, value) => {
    expect(checkStopMessage(value).ok).toBe(validate(value));
  });

  it('names the field at fault', () => {
    expect(checkStopMessage({ jobId: 'a', instanceId: '..' })).toEqual({
      ok: false,
      errorCode: 'INVALID_ID',
      errorMessage: 'instanceId must be 1-64 letters, digits or dashes',
    });
  });

  it('returns only the known fields', () => {
    expect(parseStopMessage('{"jobId":"a","source":"s"}')).toEqual({
      ok: true,
      message: { jobId: 'a', source: 's' },
    });
  });

  it('refuses a runStartedAt that is no real instant, or has spaces around it, naming the field', () => {
    for (const runStartedAt of ['2026-02-30T10:04:35Z', '2026-05-27T10:04:61Z', ' 2026-05-27T10:04:35Z']) {
      expect(checkStopMessage({ jobId: 'a', runStartedAt })).toEqual({
        ok: false,
        errorCode: 'INVALID_MESSAGE',
        errorMessage: expect.stringContaining('runStartedAt must be an ISO-8601 timestamp'),
      });
    }
  });

  it('keeps runStartedAt as the producer wrote it', () => {
    expect(parseStopMessage('{"jobId":"a","runStartedAt":"2026-05-27T18:04:35.743219+08:00"}')).toEqual({
      ok: true,
      message: { jobId: 'a', runStartedAt: '2026-05-27T18:04:35.743219+08:00' },
    });
  });

  it('reports a body that is not JSON as INVALID_JSON', () => {
    expect(parseStopMessage('{"jobId":')).toMatchObject({ ok: false, errorCode: 'INVALID_JSON' });
  });
});
