export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON (read loosely, as supertest's). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
  /** Milliseconds from sending to the end of the body. */
  ms: number;
}

export interface HttpRequest {
  method?: string;
  path: string;
  /** A value to send as JSON; a string is sent as it is (for malformed bodies). */
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A request to one instance; network failures and timeouts answer status 0. */
export async function send(baseUrl: string, request: HttpRequest): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...request.headers };
  let body: string | undefined;
  if (request.body !== undefined) {
    body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    headers['content-type'] ??= 'application/json';
  }
  if (request.token) {
    headers.authorization = `Bearer ${request.token}`;
  }
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}${request.path}`, {
      method: request.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      signal: AbortSignal.timeout(request.timeoutMs ?? 15_000),
    });
    const text = await response.text();

    return {
      status: response.status,
      headers: response.headers,
      body: parseJson(text),
      text,
      ms: performance.now() - started,
    };
  } catch (error) {
    return {
      status: 0,
      headers: new Headers(),
      body: { transportError: String(error) },
      text: '',
      ms: performance.now() - started,
    };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `{ statusCode, error, message }` with the HTTP status and a snake_case code. */
export function isErrorShape(answer: HttpAnswer): boolean {
  const body = answer.body as Record<string, unknown> | null;

  return (
    typeof body === 'object' &&
    body !== null &&
    body.statusCode === answer.status &&
    typeof body.error === 'string' &&
    /^[a-z][a-z0-9_]*$/.test(body.error) &&
    typeof body.message === 'string'
  );
}

export function expectStatus(answer: HttpAnswer, status: number, what: string): void {
  if (answer.status !== status) {
    throw new Error(
      `${what}: expected ${status}, got ${answer.status} ${answer.text.slice(0, 500)}`,
    );
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
