import { CommonException } from './common.exception';
import { IdPipe, MAX_ID } from './id.pipe';

describe('IdPipe', () => {
  const pipe = new IdPipe();

  it.each([
    ['1', 1],
    ['0', 0],
    ['007', 7],
    [String(MAX_ID), MAX_ID],
  ])('reads %j as %d', (text, id) => {
    expect(pipe.transform(text)).toBe(id);
  });

  it.each(['2147483648', '99999999999', '9'.repeat(400)])(
    'reads %j, past the id columns, as an id no row has',
    (text) => {
      expect(pipe.transform(text)).toBe(MAX_ID + 1);
    },
  );

  it.each(['-1', '-0', '+1', '1e3', '1.5', '0x10', ' 1', '1 ', '', '١٢', 'NaN'])(
    'refuses %j with 400 naming the parameter',
    (text) => {
      expect(() => pipe.transform(text)).toThrow(CommonException);
      expect(() => pipe.transform(text)).toThrow('id: must be decimal digits');
    },
  );

  it('names the parameter it reads', () => {
    expect(() => new IdPipe('clientId').transform('x')).toThrow('clientId: must be decimal digits');
  });
});
