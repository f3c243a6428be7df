import { InitialSchema1764800000000 } from './1764800000000-InitialSchema';
import { EmailsCompareExactly1765000000000 } from './1765000000000-EmailsCompareExactly';

/** Every migration, in order. A landed migration is never edited; add a new one. */
export const MIGRATIONS = [InitialSchema1764800000000, EmailsCompareExactly1765000000000];
