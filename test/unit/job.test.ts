import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../lib/platform/time.js';
import { LakeFormationResponseError } from '../../lib/upstream/lakeformation/errors.js';
import { parseJob, parseJobPage, parseStatus } from '../../lib/upstream/lakeformation/job.js';

describe('Function: parseTimestamp()', () => {
  it.each([
    ['2023-05-27T10:04:35.743Z', Date.UTC(2023, 4, 27, 10, 4, 35, 743)],
    ['2020-01-04T09:05:22.701000Z', Date.UTC(2020, 0, 4, 9, 5, 22, 701)],
    ['2020-01-04T09:05:22.701999Z', Date.UTC(2020, 0, 4, 9, 5, 22, 701)],
    ['2020-01-04T09:05:22Z', Date.UTC(2020, 0, 4, 9, 5, 22)],
    ['2020-01-04T09:05:22.7Z', Date.UTC(2020, 0, 4, 9, 5, 22, 700)],
    ['2022-10-08T12:49:19.000+00:00', Date.UTC(2022, 9, 8, 12, 49, 19)],
    ['2022-10-08T20:49:19.000+08:00', Date.UTC(2022, 9, 8, 12, 49, 19)],
    ['2022-10-08T07:19:19-0530', Date.UTC(2022, 9, 8, 12, 49, 19)],
    ['2022-10-08T12:49:19.000', Date.UTC(2022, 9, 8, 12, 49, 19)],
  ])('reads %s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each([
    ['yesterday'],
    ['2023-02-30T00:00:00Z'],
    ['2023-13-01T00:00:00Z'],
    ['2023-05-27T10:60:00Z'],
    ['2023-05-27T10:04:61Z'],
    ['2023-05-27T24:00:00Z'],
    ['2023-05-27'],
    [''],
    [1685181875743],
    [null],
  ])('returns undefined for %j', (value) => {
    expect(parseTimestamp(value)).toBeUndefined();
  });
});

describe('Function: parseStatus()', () => {
  it.each([
    ['RUNNING', 'RUNNING'],
    [{ status: 'SUCCESS' }, 'SUCCESS'],
    ['running', 'RUNNING'],
    [{ status: { status: 'STOPPED' } }, 'STOPPED'],
    [{}, undefined],
    ['', undefined],
    [42, undefined],
  ])('reads %j as %s', (value, expected) => {
    expect(parseStatus(value)).toBe(expected);
  });
});

describe('Function: parseJob()', () => {
  it('keeps a status it does not know, so a new LakeFormation status is not an error', () => {
    expect(parseJob('getJob', { id: 'j', status: 'PAUSED' }).status).toBe('PAUSED');
  });

  it('rejects a job without id or status', () => {
    expect(() => parseJob('getJob', { status: 'RUNNING' })).toThrow(LakeFormationResponseError);
    expect(() => parseJob('getJob', { id: 'j' })).toThrow(LakeFormationResponseError);
    expect(() => parseJob('getJob', 'j')).toThrow(LakeFormationResponseError);
  });

  it('leaves out times it cannot read rather than inventing them', () => {
    const job = parseJob('getJob', {
      id: 'j',
      status: 'RUNNING',
      start_time: 'soon',
      create_time: '2023-05-27T10:04:35.743Z',
    });
    expect(job.startTime).toBeUndefined();
    expect(job.createTime).toBe(Date.UTC(2023, 4, 27, 10, 4, 35, 743));
  });
});

describe('Function: parseJobPage()', () => {
  it('falls back to the page length when total is missing', () => {
    expect(parseJobPage('listJobs', { jobs: [{ id: 'a', status: 'RUNNING' }] }).total).toBe(1);
  });

  it('rejects a response without a jobs array', () => {
    expect(() => parseJobPage('listJobs', { total: 3 })).toThrow(LakeFormationResponseError);
  });
});
