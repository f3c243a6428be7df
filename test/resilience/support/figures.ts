import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the figures of a run are collected (RESILIENCE_FIGURES, or a file in the temp folder). */
export function figuresFile(): string {
  return process.env.RESILIENCE_FIGURES ?? join(tmpdir(), 'backoffice-resilience-figures.txt');
}

/** Prints one figure as its own line (`FIGURE name: value`) and keeps it for the summary. */
export function figure(name: string, value: string | number): void {
  const line = `FIGURE ${name}: ${value}\n`;
  process.stdout.write(line);
  appendFileSync(figuresFile(), line);
}
