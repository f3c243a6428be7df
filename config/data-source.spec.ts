describe('the data source options', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  // main.ts validates the environment once and prints the list of problems; a module that
  // validated at import time would throw first, with a stack trace instead of that list.
  it('are imported, with the whole application, without validating the environment', async () => {
    process.env.PORT = 'not a port';
    process.env.LOG_LEVEL = 'loud';

    await expect(
      jest.isolateModulesAsync(async () => {
        await import('./data-source');
        await import('../src/app.module');
      }),
    ).resolves.toBeUndefined();
  });
});
