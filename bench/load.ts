import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';

import { RssSampler, cpuMs } from './processes';

/** How long the connections may take to get their first answers before the load gives up. */
const MAX_RAMP_UP_SECONDS = 60;

export interface RequestParts {
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  url: string;
  path: string;
  method: 'GET' | 'POST';
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  body?: string;
  /**
   * The parts of each request, asked for just before it is sent; null when nothing is left,
   * which ends the load early.
   */
  next?: () => RequestParts | null;
  /** The server's process: its RSS is sampled and its CPU time counted during the load. */
  rssPid?: number;
}

export interface LoadFigures {
  connections: number;
  /** The measured window: `seconds` from the moment every connection had its first answer. */
  seconds: number;
  requests: number;
  ok: number;
  /** 2xx answers per second in the window. */
  perSecond: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** False when some connection never got an answer: then every answer counts. */
  steady: boolean;
  /**
   * Until every connection had its first answer, not measured: a server whose one thread is
   * busy accepts new connections late, so the first answers on the last connections wait.
   */
  rampUp: { ms: number; answers: number; maxLatencyMs: number };
  /** The prepared requests ran out before the time was up. */
  exhausted: boolean;
  rssMaxMb?: number;
  /** The server's CPU time per answer in the measured window (both cores count). */
  cpuMsPerAnswer?: number;
}

interface Answer {
  at: number;
  status: number;
  latencyMs: number;
}

/**
 * One autocannon run with the same settings for every target (keep-alive, no pipelining),
 * counted in the steady state only: `seconds` of answers and latencies from the moment the
 * last of the connections got its first answer.
 */
export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const sampler = options.rssPid === undefined ? null : new RssSampler(options.rssPid);
  let exhausted = false;
  // Answers after the prepared requests ran out are to leftovers: not counted.
  let exhaustedAt = Infinity;
  let instance: autocannon.Instance | undefined;
  const next = options.next;
  const setupRequest = next
    ? (request: autocannon.Request): autocannon.Request => {
        const parts = exhausted ? null : next();
        if (!parts) {
          if (!exhausted) {
            exhausted = true;
            exhaustedAt = performance.now();
            setImmediate(() => instance?.stop());
          }

          return request;
        }

        return {
          ...request,
          headers: { ...request.headers, ...parts.headers },
          ...(parts.body === undefined ? {} : { body: parts.body }),
        };
      }
    : undefined;

  const answers: Answer[] = [];
  const answered = new Set<unknown>();
  let steadyFrom: number | null = null;
  let stopTimer: NodeJS.Timeout | undefined;
  const pid = options.rssPid;
  let cpuAtSteady: number | null = null;
  const cpuAtStart = pid === undefined ? null : cpuMs(pid);
  const rampUpAnswers: Answer[] = [];
  let rampUpMaxLatency = 0;
  let startedAt = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    startedAt = performance.now();
    instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        // Stopped `seconds` after the steady state begins; this is only the ceiling.
        duration: options.seconds + MAX_RAMP_UP_SECONDS,
        pipelining: 1,
        timeout: 30,
        requests: [
          {
            method: options.method,
            path: options.path,
            headers: {
              ...(options.method === 'POST' ? { 'content-type': 'application/json' } : {}),
              ...options.headers,
            },
            ...(options.body === undefined ? {} : { body: options.body }),
            ...(setupRequest ? { setupRequest } : {}),
          },
        ],
      },
      (error: unknown, value) => (error ? reject(asError(error)) : resolve(value)),
    );
    instance.on('response', (client, status, _bytes, latencyMs) => {
      const at = performance.now();
      if (at > exhaustedAt) {
        return;
      }
      if (steadyFrom === null) {
        rampUpAnswers.push({ at, status, latencyMs });
        rampUpMaxLatency = Math.max(rampUpMaxLatency, latencyMs);
        answered.add(client);
        if (answered.size >= options.connections) {
          steadyFrom = at;
          cpuAtSteady = pid === undefined ? null : cpuMs(pid);
          stopTimer = setTimeout(() => instance?.stop(), options.seconds * 1000);
        }

        return;
      }
      answers.push({ at, status, latencyMs });
    });
  });
  const endedAt = performance.now();
  const cpuAtEnd = pid === undefined ? null : cpuMs(pid);
  clearTimeout(stopTimer);
  const rss = sampler?.stop();
  // Some connection never got an answer: no steady state to measure, so everything counts.
  const steady = steadyFrom !== null;
  const windowStart = steadyFrom ?? startedAt;
  if (!steady) {
    answers.push(...rampUpAnswers);
  }

  const statuses: Record<string, number> = {};
  for (const answer of answers) {
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
  }
  const ok = answers.filter((answer) => answer.status >= 200 && answer.status < 300).length;
  const latencies = answers.map((answer) => answer.latencyMs).sort((a, b) => a - b);
  const window = (Math.min(endedAt, exhaustedAt) - windowStart) / 1000;
  const cpuFrom = steady ? cpuAtSteady : cpuAtStart;
  const cpuUsed = cpuFrom !== null && cpuAtEnd !== null ? cpuAtEnd - cpuFrom : null;

  return {
    connections: options.connections,
    seconds: window,
    requests: answers.length,
    ok,
    perSecond: window > 0 ? ok / window : 0,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? 0,
      mean: latencies.length > 0 ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0,
    },
    steady,
    rampUp: {
      ms: (steadyFrom ?? endedAt) - startedAt,
      answers: rampUpAnswers.length,
      maxLatencyMs: Math.round(rampUpMaxLatency),
    },
    exhausted,
    ...(rss ? { rssMaxMb: rss.maxMb } : {}),
    ...(cpuUsed !== null && answers.length > 0 ? { cpuMsPerAnswer: cpuUsed / answers.length } : {}),
  };
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) {
    return 0;
  }
  const value = sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];

  return Math.round(value * 10) / 10;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
