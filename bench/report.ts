import type { BatchPair, EnforcementFigures } from './enforcement-figures';
import type { HttpFigures } from './http-figures';
import type { LoadFigures } from './load';

export interface Row {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  /** 'yes', 'NO', or '' for figures without a target. */
  met: string;
}

const n = (value: number, digits = 0): string =>
  value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// The server's CPU time per answer: steadier than rates on a shared machine.
const cpu = (ms: number | undefined): string => `${(ms ?? 0).toFixed(2)} ms CPU each`;

// A figure measured with failed requests is no figure: it says so instead of a ratio.
function clean(load: LoadFigures): boolean {
  return load.ok === load.requests && load.errors === 0 && !load.exhausted;
}

function atLeast(ratio: number, target: number, valid = true): Pick<Row, 'ratio' | 'met'> {
  return {
    ratio: `${ratio.toFixed(2)} x`,
    met: !valid ? 'NO (errors)' : ratio >= target ? 'yes' : 'NO',
  };
}

function atMost(ratio: number, target: number, valid = true): Pick<Row, 'ratio' | 'met'> {
  return {
    ratio: `${ratio.toFixed(2)} x`,
    met: !valid ? 'NO (errors)' : ratio <= target ? 'yes' : 'NO',
  };
}

export function httpRows(http: HttpFigures, cores: number): Row[] {
  const rows: Row[] = [];
  if (http.logins && http.argon2) {
    rows.push({
      figure: 'password logins/s (POST /auth/login, 2FA off)',
      value: n(http.logins.perSecond, 1),
      baseline: `argon2id ${n(http.argon2.perSecond, 1)} hashes/s, ${cores} at once`,
      ...atLeast(http.logins.perSecond / http.argon2.perSecond, 0.8, clean(http.logins)),
      target: '>= 0.8 x',
    });
  }
  const bareCpu = http.bare
    ? ((http.bare.before.cpuMsPerAnswer ?? 0) + (http.bare.after.cpuMsPerAnswer ?? 0)) / 2
    : 0;
  const bare = http.bare ? `bare NestJS route ${n(http.bare.perSecond)}/s (${cpu(bareCpu)})` : '';
  const bareRate = http.bare?.perSecond ?? 0;
  const code = http.codeSteps;
  if (code) {
    rows.push({
      figure: 'code steps/s (POST /auth/two-factor)',
      value: `${n(code.perSecond)} (${cpu(code.cpuMsPerAnswer)})`,
      baseline: bare,
      ...atLeast(code.perSecond / bareRate, 0.2, clean(code)),
      target: '>= 0.2 x',
    });
  }
  if (http.me) {
    rows.push({
      figure: 'authenticated GET /me/s',
      value: `${n(http.me.perSecond)} (${cpu(http.me.cpuMsPerAnswer)})`,
      baseline: bare,
      ...atLeast(http.me.perSecond / bareRate, 0.5, clean(http.me)),
      target: '>= 0.5 x',
    });
  }
  if (http.stack) {
    rows.push({
      figure: '  breakdown: the same HTTP stack around a trivial public route/s',
      value: `${n(http.stack.perSecond)} (${cpu(http.stack.cpuMsPerAnswer)})`,
      baseline: bare,
      ratio: `${(http.stack.perSecond / bareRate).toFixed(2)} x`,
      target: '',
      met: '',
    });
  }
  if (code) {
    rows.push({
      figure: `code step p99 latency, ${code.connections} connections`,
      value: `${code.latencyMs.p99} ms`,
      baseline: `median ${code.latencyMs.p50} ms`,
      ...atMost(code.latencyMs.p99 / Math.max(1, code.latencyMs.p50), 5, clean(code)),
      target: '<= 5 x',
    });
  }
  rows.push(
    {
      figure: 'service RSS, idle',
      value: `${n(http.rss.idleMb)} MB`,
      baseline: '',
      ratio: '',
      target: '',
      met: '',
    },
    {
      figure: 'service RSS, under load (highest)',
      value: `${n(http.rss.underLoadMaxMb)} MB`,
      baseline: '',
      ratio: '',
      target: '< 250 MB',
      met: http.rss.underLoadMaxMb < 250 ? 'yes' : 'NO',
    },
  );

  return rows;
}

export function enforcementRows(job: EnforcementFigures): Row[] {
  const rows: Row[] = [
    {
      figure:
        `enforcement job, ${n(job.users)} users (${n(job.dueUsers)} due, ` +
        `${n(job.dueReminders)} reminders), ${job.runs.length} runs`,
      value: `${n(job.users / job.totalSeconds)} users/s (${n(job.usersCheckedPerSecond)} checked/s)`,
      baseline: `${n(job.remindersSent)} reminders in ${n(job.totalSeconds, 1)} s`,
      ratio: '',
      target: 'drained',
      met: job.drained && job.runs.every((run) => run.errors === 0) ? 'yes' : 'NO',
    },
  ];
  const pairRow = (label: string, pair: BatchPair, extra = ''): Row => ({
    figure: `  ${label}: last batch (run ${pair.last.run}, up to id ${n(pair.last.lastId)})`,
    value: `${n(pair.last.ms)} ms; median of last ${pair.medianOf}: ${n(pair.lastMedianMs)}`,
    baseline:
      `first ${n(pair.first.ms)} ms; median of first ${pair.medianOf}: ` +
      `${n(pair.firstMedianMs)}${extra}`,
    // Judged on the medians: one batch alone is as noisy as the machine.
    ratio: `${pair.medianRatio.toFixed(2)} x (one batch: ${pair.ratio.toFixed(2)} x)`,
    target: '<= 1.5 x',
    met: pair.medianRatio <= 1.5 ? 'yes' : 'NO',
  });
  if (job.sending) {
    rows.push(pairRow('sending 1,000 users', job.sending));
  }
  if (job.walk) {
    rows.push(
      pairRow('walk, nothing to send', job.walk, `; ${n(job.walk.usersPerSecond)} users/s`),
    );
  }
  rows.push({
    figure: '  RSS of the process running the job (highest)',
    value: `${n(job.rssMaxMb)} MB`,
    baseline: '',
    ratio: '',
    target: '< 200 MB',
    met: job.rssMaxMb < 200 ? 'yes' : 'NO',
  });

  return rows;
}

/** A Markdown table, padded so that it also reads in a terminal. */
export function formatTable(rows: Row[]): string {
  const header: Row = {
    figure: 'figure',
    value: 'value',
    baseline: 'baseline (same run)',
    ratio: 'ratio',
    target: 'target',
    met: 'met',
  };
  const columns = Object.keys(header) as (keyof Row)[];
  const widths = columns.map((column) =>
    Math.max(...[header, ...rows].map((row) => row[column].length)),
  );
  const line = (row: Row) =>
    `| ${columns.map((column, i) => row[column].padEnd(widths[i])).join(' | ')} |`;
  const rule = `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`;

  return [line(header), rule, ...rows.map(line)].join('\n');
}
