import fc from 'fast-check';

import { PASSWORD, fullToken, loginToken, pendingToken, withTwoFactor } from './support/accounts';
import { Cluster } from './support/cluster';
import { figure } from './support/figures';
import {
  FuzzRequest,
  SESSION_KINDS,
  SessionKind,
  readOperations,
  requestArbitrary,
} from './support/fuzz-requests';
import { HttpAnswer, isErrorShape } from './support/http';
import { ServiceInstance } from './support/instance';
import { seedClient, seedUsers } from './support/seed';

const REQUESTS = Number(process.env.RESILIENCE_FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.RESILIENCE_FUZZ_SEED ?? Date.now() % 1_000_000);
// Sessions are checked every so many requests, and the ended ones replaced.
const EPOCH = 200;
const CONCURRENCY = 8;

type Sessions = Record<SessionKind, string>;

interface Finding {
  request: FuzzRequest;
  status: number;
  text: string;
}

describe('fuzzing every documented route', () => {
  let cluster: Cluster;
  let instance: ServiceInstance;
  let clientId: number;

  beforeAll(async () => {
    cluster = await Cluster.start({ instances: 1, smtp: false, database: 'bo_fuzz' });
    instance = cluster.instances[0];
    // The fuzzed accounts live in a client of their own, out of the bootstrap admin's reach.
    clientId = await seedClient(cluster.db, { name: 'Fuzz client' });
  });
  afterAll(() => cluster?.stop());

  // One new account per kind of session: the fuzzer logs sessions out, deactivates and
  // resets accounts, and locks them with wrong passwords and codes.
  const newSession: Record<SessionKind, () => Promise<string>> = {
    admin: async () => {
      const [admin] = await seedUsers(cluster.db, [{ clientId, admin: true }]);

      return (await loginToken(instance, admin.email)).token;
    },
    user: async () => {
      const [user] = await seedUsers(cluster.db, [{ clientId }]);

      return (await loginToken(instance, user.email)).token;
    },
    twoFactor: async () => {
      const [user] = await seedUsers(cluster.db, [{ clientId }]);

      return fullToken(instance, await withTwoFactor(instance, user));
    },
    pending: async () => {
      const [user] = await seedUsers(cluster.db, [{ clientId }]);
      await withTwoFactor(instance, user);

      return pendingToken(instance, user.email);
    },
    app: async () => {
      const [user] = await seedUsers(cluster.db, [{ clientId }]);
      const app = await instance.request({
        path: '/apps/auth/login',
        body: { email: user.email, password: PASSWORD, app: 'voucher-app' },
      });

      return app.body.sessionToken as string;
    },
  };
  // The route each kind of session may call, to tell a live session from an ended one.
  const probe: Record<SessionKind, { method?: string; path: string; alive: number[] }> = {
    admin: { path: '/admin/settings', alive: [200] },
    user: { path: '/me', alive: [200] },
    twoFactor: { path: '/me', alive: [200] },
    pending: { path: '/me', alive: [403] },
    app: { path: '/apps/me', alive: [200] },
  };
  let refreshed = 0;

  /** The sessions of the last batch that still live, and new ones for those that ended. */
  async function liveSessions(previous?: Sessions): Promise<Sessions> {
    const entries = await Promise.all(
      SESSION_KINDS.map(async (kind): Promise<[SessionKind, string]> => {
        if (previous) {
          const answer = await instance.request({ ...probe[kind], token: previous[kind] });
          if (probe[kind].alive.includes(answer.status)) {
            return [kind, previous[kind]];
          }
        }
        refreshed += 1;

        return [kind, await newSession[kind]()];
      }),
    );

    return Object.fromEntries(entries) as Sessions;
  }

  function send(request: FuzzRequest, sessions: Sessions): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...request.headers };
    if (request.contentType) {
      headers['content-type'] = request.contentType;
    }
    switch (request.auth.type) {
      case 'none':
        break;
      case 'bearer':
        headers.authorization = `Bearer ${sessions[request.auth.session]}`;
        break;
      case 'cookie':
        headers.cookie = `session=${sessions[request.auth.session]}`;
        if (request.auth.csrfHeader) {
          headers['x-requested-with'] = 'fetch';
        }
        break;
      case 'header':
        headers.authorization = request.auth.authorization;
        break;
      case 'bad-cookie':
        headers.cookie = request.auth.cookie;
        break;
    }

    return instance.request({
      method: request.method,
      path: request.path,
      body: request.body,
      headers,
      timeoutMs: 30_000,
    });
  }

  it('answers at least 10,000 malformed requests without a 5xx, every 4xx in the error shape', async () => {
    const document = await instance.request({ path: '/docs-json' });
    expect(document.status).toBe(200);
    const operations = readOperations(document.body);
    expect(operations.length).toBeGreaterThan(20);
    const requests = fc.sample(requestArbitrary(operations), { numRuns: REQUESTS, seed: SEED });

    const statuses = new Map<number, number>();
    const perTarget = new Map<string, number>();
    const perAuth = new Map<string, number>();
    const serverErrors: Finding[] = [];
    const badShapes: Finding[] = [];
    const transport: Finding[] = [];
    let clientErrors = 0;
    let sent = 0;
    const started = Date.now();

    let sessions: Sessions | undefined;
    let withSession = 0;
    let pastSessionCheck = 0;
    for (let offset = 0; offset < requests.length; offset += EPOCH) {
      sessions = await liveSessions(sessions);
      const current = sessions;
      const batch = requests.slice(offset, offset + EPOCH);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < batch.length) {
          const request = batch[next++];
          const answer = await send(request, current);
          sent += 1;
          if (request.auth.type === 'bearer' || request.auth.type === 'cookie') {
            withSession += 1;
            pastSessionCheck += answer.status === 401 ? 0 : 1;
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          perTarget.set(request.target, (perTarget.get(request.target) ?? 0) + 1);
          const auth =
            'session' in request.auth
              ? `${request.auth.type}:${request.auth.session}`
              : request.auth.type;
          perAuth.set(auth, (perAuth.get(auth) ?? 0) + 1);
          const finding = { request, status: answer.status, text: answer.text.slice(0, 300) };
          if (answer.status === 0) {
            transport.push({ ...finding, text: String(answer.body.transportError) });
          } else if (answer.status >= 500) {
            serverErrors.push(finding);
          } else if (answer.status >= 400) {
            clientErrors += 1;
            if (!isErrorShape(answer)) {
              badShapes.push(finding);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    }
    const seconds = (Date.now() - started) / 1000;

    const health = await instance.request({ path: '/health' });
    const show = (list: Finding[]) =>
      list
        .slice(0, 10)
        .map(
          (f) =>
            `${f.status} ${f.request.method} ${f.request.path.slice(0, 120)} body=${(f.request.body ?? '').slice(0, 160)} auth=${JSON.stringify(f.request.auth).slice(0, 80)} ct=${f.request.contentType} -> ${f.text}`,
        )
        .join('\n');
    process.stdout.write(
      `fuzz seed ${SEED}: ${sent} requests in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`,
    );
    if (serverErrors.length + badShapes.length + transport.length > 0) {
      process.stdout.write(
        `5xx:\n${show(serverErrors)}\nbad shapes:\n${show(badShapes)}\ntransport:\n${show(transport)}\n`,
      );
    }
    figure('5xx answers to fuzzed requests', `${serverErrors.length} of ${sent} (seed ${SEED})`);
    figure('4xx answers not in the error shape', `${badShapes.length} of ${clientErrors}`);
    figure('routes fuzzed', `${perTarget.size} of ${operations.length}`);
    figure(
      'fuzzed requests with a session',
      `${withSession}, ${pastSessionCheck} of them past the session check (${refreshed} sessions opened)`,
    );
    figure('health after fuzzing', health.status);

    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    // Counts, not the findings themselves: those are printed above, shortened.
    expect(serverErrors.length).toBe(0);
    expect(badShapes.length).toBe(0);
    expect(transport.length).toBe(0);
    expect(perTarget.size).toBe(operations.length);
    for (const kind of SESSION_KINDS) {
      expect(perAuth.get(`bearer:${kind}`)).toBeGreaterThan(0);
    }
    expect(health.status).toBe(200);
    expect(cluster.errorLogLines().length).toBe(0);
  });
});
