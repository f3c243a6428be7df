import {
  DEFAULT_PASSWORD,
  bearer,
  createClient,
  createUser,
  currentCode,
  login,
  loginToken,
  pendingToken,
  sendCode,
  sendRecoveryCode,
  tableText,
} from './support/factories';
import { concretePath, registeredRoutes } from './support/routes';
import { TestApp, createTestApp } from './support/test-app';

const STEP = 30_000;
const NEW_PASSWORD = 'the second long password';

/** Every 6-digit run in a text: where a TOTP code would show. */
function sixDigitRuns(text: string): string[] {
  return [...text.matchAll(/(?<!\d)\d{6}(?!\d)/g)].map((match) => match[0]);
}

describe('secrets, codes, tokens and passwords', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('appear in no table but as hashes or ciphertexts, and in no answer but where they are issued', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    const passwords = [DEFAULT_PASSWORD, NEW_PASSWORD];
    const codes: string[] = [];
    const tokens: string[] = [];
    const answers: unknown[] = [];
    const useCode = () => {
      const code = currentCode(t, secret);
      codes.push(code);
      t.clock.advance(STEP);

      return code;
    };

    // A whole life of a user's 2FA, through the API.
    const first = await loginToken(t, user.email);
    tokens.push(first);
    const setup = await t.http
      .post('/me/two-factor/setup')
      .set(bearer(first))
      .send({ password: DEFAULT_PASSWORD });
    const secret = setup.body.secret as string;
    const confirm = await t.http
      .post('/me/two-factor/confirm')
      .set(bearer(first))
      .send({ code: useCode() });
    answers.push(confirm.body);
    const recoveryCodes = [...(confirm.body.recoveryCodes as string[])];
    const pending = await pendingToken(t, user.email);
    tokens.push(pending);
    const trusted = await sendCode(t, pending, useCode(), { trustDevice: true });
    answers.push(trusted.body);
    tokens.push(trusted.body.sessionToken, trusted.body.trustedDeviceToken);
    const recovering = await pendingToken(t, user.email);
    const recovered = await sendRecoveryCode(t, recovering, recoveryCodes[0]);
    answers.push(recovered.body);
    tokens.push(recovering, recovered.body.sessionToken);
    const renewed = await t.http
      .post('/me/two-factor/recovery-codes')
      .set(bearer(recovered.body.sessionToken))
      .send({ code: useCode() });
    answers.push(renewed.body);
    recoveryCodes.push(...(renewed.body.recoveryCodes as string[]));
    const changed = await t.http
      .post('/me/password')
      .set(bearer(recovered.body.sessionToken))
      .send({ currentPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD });
    expect(changed.status).toBe(204);
    const wrongPassword = await login(t, user.email, 'a mistyped password');
    answers.push(wrongPassword.body);
    passwords.push('a mistyped password');
    const last = await login(t, user.email, NEW_PASSWORD);
    const full = await sendCode(t, last.body.sessionToken, useCode());
    tokens.push(last.body.sessionToken, full.body.sessionToken);
    const app = await t.http
      .post('/apps/auth/login')
      .send({ email: user.email, password: NEW_PASSWORD, app: 'ticket-app' });
    tokens.push(app.body.sessionToken);

    // Every read the full session may make.
    for (const route of registeredRoutes(t).filter((r) => r.method === 'get')) {
      const answer = await t.http.get(concretePath(route)).set(bearer(full.body.sessionToken));
      answers.push(answer.body);
    }
    const deactivated = await t.http
      .delete('/me/two-factor')
      .set(bearer(full.body.sessionToken))
      .send({ code: useCode() });
    expect(deactivated.status).toBe(204);

    const secrets = [secret, ...recoveryCodes, ...tokens, ...passwords];
    expect(secrets.every((value) => typeof value === 'string' && value.length >= 6)).toBe(true);
    const issuedOnce = JSON.stringify(answers.slice(0, 3));
    expect(issuedOnce).not.toContain(secret);
    const later = JSON.stringify(answers.slice(3));
    for (const value of [secret, ...recoveryCodes.slice(0, 10), ...passwords]) {
      expect(later).not.toContain(value);
      expect(later).not.toContain(value.replace(/-/g, ''));
    }
    for (const table of t.dataSource.entityMetadatas.map((entity) => entity.tableName)) {
      const stored = await tableText(t, table);
      for (const value of secrets) {
        expect({ table, found: stored.includes(value) }).toEqual({ table, found: false });
      }
    }
    for (const table of ['audit_events', 'mail_outbox']) {
      const stored = await tableText(t, table);
      expect(sixDigitRuns(stored).filter((run) => codes.includes(run))).toEqual([]);
      expect(stored.toLowerCase()).not.toContain(secret.toLowerCase());
    }
  });
});
