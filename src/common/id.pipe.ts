import { PipeTransform } from '@nestjs/common';

import { CommonException } from './common.exception';

// Ids are 32-bit integer columns; a larger number could only miss.
export const MAX_ID = 2_147_483_647;

/**
 * A route id: decimal digits only. "-1", "+1", "1e3", "0x10" and " 1" are not ids; they
 * answer 400 naming the parameter. Digits past the id columns name no row: such an id reads as
 * MAX_ID + 1 and answers 404 like any other unknown id.
 */
export class IdPipe implements PipeTransform<string, number> {
  constructor(private readonly name = 'id') {}

  transform(value: string): number {
    if (!/^[0-9]+$/.test(value)) {
      throw CommonException.validation(`${this.name}: must be decimal digits`);
    }

    return value.length > 10 ? MAX_ID + 1 : Math.min(Number(value), MAX_ID + 1);
  }
}
