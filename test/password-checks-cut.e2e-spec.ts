import { SECOND_MS } from '../src/common/time';
import { PasswordAttemptsService, STALE_CHECK_MS } from '../src/users/password-attempts.service';
import { DEFAULT_PASSWORD, createClient, createUser, login } from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

// What a database outage leaves when it cuts password checks after they were counted and
// before their outcome was recorded.
function cutAfterCounting(): jest.SpyInstance {
  const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), {
    code: 'PROTOCOL_CONNECTION_LOST',
  });

  return jest
    .spyOn(PasswordAttemptsService.prototype as never, 'recordSuccess')
    .mockRejectedValue(lost as never);
}

describe('password checks cut off between counting and recording', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  it('lets the right password in again once the places of ten cut checks are stale', async () => {
    const user = await createUser(t, { clientId });
    const cut = cutAfterCounting();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.http.post('/auth/login').send({ email: user.email, password: DEFAULT_PASSWORD }),
      ),
    );
    cut.mockRestore();
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(503));

    // Moments later the count still holds those places: they may be checks under way.
    expect((await login(t, user.email)).status).toBe(429);
    t.clock.advance(STALE_CHECK_MS + SECOND_MS);

    expect((await login(t, user.email)).status).toBe(200);
    expect((await login(t, user.email)).status).toBe(200);
  });

  it('starts the lock when the check let through a stale count is wrong', async () => {
    const user = await createUser(t, { clientId });
    const cut = cutAfterCounting();
    await Promise.all(
      Array.from({ length: 10 }, () =>
        t.http.post('/auth/login').send({ email: user.email, password: DEFAULT_PASSWORD }),
      ),
    );
    cut.mockRestore();
    t.clock.advance(STALE_CHECK_MS + SECOND_MS);

    const wrong = await login(t, user.email, 'not the password at all');
    const after = await t.http
      .post('/auth/login')
      .send({ email: user.email, password: DEFAULT_PASSWORD });

    expect(wrong.status).toBe(401);
    // The 15-minute lock, not the one-second wait for checks under way.
    expect(after.status).toBe(429);
    expect(Number(after.headers['retry-after'])).toBeGreaterThan(800);
  });
});
