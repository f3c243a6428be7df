import { PipeTransform } from '@nestjs/common';

import { CommonException } from './common.exception';

// Ids are 32-bit integer columns; a larger number could only miss.
export const MAX_ID = 2_147_483_647;

/**
 * A route id: decimal digits only, within the id columns. "-1", "+1", "1e3", "0x10" and " 1"
 * are not ids; they answer 400 naming the parameter rather than 404.
 */
export class IdPipe implements PipeTransform<string, number> {
  constructor(private readonly name = 'id') {}

  transform(value: string): number {
    const id = /^[0-9]{1,10}$/.test(value) ? Number(value) : Number.NaN;
    if (!(id <= MAX_ID)) {
      throw CommonException.validation(
        `${this.name}: must be a whole number from 0 to ${MAX_ID} in decimal digits`,
      );
    }

    return id;
  }
}
