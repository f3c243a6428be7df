/**
 * The resilience suite: the built service as three processes on one MariaDB, an SMTP listener
 * the tests stop and start, outages and fuzzing. Not part of `npm test`; run it with
 * `npm run test:resilience` (CI runs it as its own stage).
 * @type {import('jest').Config}
 */
module.exports = {
  rootDir: '../..',
  displayName: 'resilience',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/resilience/**/*.resilience-spec.ts'],
  // Type checking is lint's and the build's job; tests compile file by file.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json', diagnostics: false }] },
  globalSetup: '<rootDir>/test/resilience/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/resilience/support/global-teardown.ts',
  testTimeout: 180000,
  // One file at a time: the files share one MariaDB server, and some stop it.
  maxWorkers: 1,
};
