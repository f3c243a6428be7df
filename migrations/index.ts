import { InitialSchema1764800000000 } from './1764800000000-InitialSchema';

/** Every migration, in order. A landed migration is never edited; add a new one. */
export const MIGRATIONS = [InitialSchema1764800000000];
