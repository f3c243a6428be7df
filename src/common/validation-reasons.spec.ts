import { mainReason } from './validation-reasons';

const failed = (property: string, constraints?: Record<string, string>, ...value: unknown[]) => ({
  property,
  value: value.length ? value[0] : 'x',
  constraints,
});

describe('mainReason', () => {
  it('gives a failed kind check before the other checks, wherever it ran', () => {
    expect(
      mainReason(
        failed('token', {
          maxLength: 'token must be at most 200 characters',
          isString: 'token must be a string',
        }),
      ),
    ).toEqual(['must be a string']);
    expect(
      mainReason(
        failed('page', {
          max: 'page must be at most 10',
          min: 'page must be at least 1',
          isInt: 'page must be an integer',
        }),
      ),
    ).toEqual(['must be an integer']);
  });

  it('gives the first check that ran when no kind check failed', () => {
    expect(
      mainReason(
        failed('pageSize', {
          min: 'pageSize must be at least 1',
          max: 'pageSize must be at most 100',
        }),
      ),
    ).toEqual(['must be at least 1']);
  });

  it('leaves out the field name only where the reason starts with it', () => {
    expect(mainReason(failed('page', { min: 'pages must be at least 1' }))).toEqual([
      'pages must be at least 1',
    ]);
    expect(mainReason(failed('code', { isCode: 'six digits are needed' }))).toEqual([
      'six digits are needed',
    ]);
  });

  it('says a field left out is required, whatever check it failed', () => {
    expect(
      mainReason(failed('permissions', { isArray: 'permissions must be an array' }, undefined)),
    ).toEqual(['is required']);
  });

  it('calls a field the whitelist refuses unknown, not "should not exist"', () => {
    expect(
      mainReason(failed('foo', { whitelistValidation: 'property foo should not exist' })),
    ).toEqual(['unknown field']);
  });

  it('gives nothing for a field without failed checks of its own', () => {
    expect(mainReason(failed('page'))).toEqual([]);
    expect(mainReason(failed('page', {}))).toEqual([]);
  });
});
