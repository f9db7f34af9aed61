import { verdictOf } from '../../src/clients/sinch/status';

describe('verdictOf: the one mapping of Sinch statuses', () => {
  test.each([
    ['PENDING', undefined, { result: 'PENDING' }],
    ['pending', undefined, { result: 'PENDING' }],
    ['SUCCESSFUL', undefined, { result: 'SUCCESSFUL' }],
    ['FAIL', 'Invalid code', { result: 'INVALID_CODE' }],
    ['FAIL', 'Expired', { result: 'EXPIRED' }],
    [
      'FAIL',
      'Hung up without entering valid code',
      { result: 'REJECTED', status: 'FAIL', reason: 'Hung up without entering valid code' },
    ],
    ['ABORTED', undefined, { result: 'ABORTED' }],
    ['DENIED', 'Fraud', { result: 'REJECTED', status: 'DENIED', reason: 'Fraud' }],
    ['ERROR', 'Internal error', { result: 'REJECTED', status: 'ERROR', reason: 'Internal error' }],
  ])('When Sinch says %s (%s), then the verdict is %j', (status, reason, verdict) => {
    expect(verdictOf(status, reason)).toEqual(verdict);
  });

  test.each([['UNKNOWN'], [''], [42], [undefined]])('When the status is %j, then there is no verdict', (status) => {
    expect(verdictOf(status, undefined)).toBeUndefined();
  });
});
