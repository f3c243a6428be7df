import { mainReason } from './validation-reasons';

describe('mainReason', () => {
  it('gives a failed kind check before the other checks, wherever it ran', () => {
    expect(
      mainReason({
        maxLength: 'token must be at most 200 characters',
        isString: 'token must be a string',
      }),
    ).toEqual(['token must be a string']);
    expect(
      mainReason({
        max: 'page must be at most 10',
        min: 'page must be at least 1',
        isInt: 'page must be an integer',
      }),
    ).toEqual(['page must be an integer']);
  });

  it('gives the first check that ran when no kind check failed', () => {
    expect(
      mainReason({ min: 'pageSize must be at least 1', max: 'pageSize must be at most 100' }),
    ).toEqual(['pageSize must be at least 1']);
  });

  it('gives nothing for a field without failed checks of its own', () => {
    expect(mainReason(undefined)).toEqual([]);
    expect(mainReason({})).toEqual([]);
  });
});
