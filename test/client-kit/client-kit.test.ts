// The client kit proves itself (issue 9 §3): the reference client (`xanjax tail --format
// lines`) and a Python client written from the spec pass every scenario; each deliberately
// broken client fails exactly the scenario of the rule it breaks.
import { describe, expect, it } from 'vitest';
import { runClientScenarios } from '../../conformance/client/run-clients.ts';
import { multiplexScenarios } from '../../conformance/client/scenarios-multiplex.ts';
import { brokenClients } from './broken-clients.ts';

const python = ['python3', 'test/client-kit/ssp_client.py'];
// Every §20.5 input as arguments: params, the credentials (SSP_HEADERS) and several streams (SSP_STREAMS).
const reference = ['node', 'bin/xanjax.js', 'tail', '{endpoint}', '{stream}', '--params', '{params}', '--headers', '{headers}', '--streams', '{streams}', '--format', 'lines'];

async function failingOf(command: string[]) {
  // Generous kill bounds: the clients' own timing is judged from the configured delays, not from these.
  const summary = await runClientScenarios({ command, concurrency: 4, timeoutScale: 2 });
  const failed = summary.results.filter((result) => result.status === 'fail' || result.status === 'warning' || result.status === 'harness-error');
  const notes = summary.results.filter((result) => result.status === 'note').map((result) => result.id).sort();
  return { failing: failed.map((result) => result.id).sort(), notes, reasons: failed.map((result) => `${result.id}: ${result.reason ?? ''}`).join('\n\n') };
}

const multiplexIds = multiplexScenarios.map((scenario) => scenario.id).sort();
const broken = brokenClients.map(({ flag, fails }): [string, string[]] => [flag, fails]);

describe('client conformance kit', () => {
  // One client at a time (each runs four scenarios at once): client processes are heavy to start.
  const commands = new Map<string, string[]>([
    ['python', python],
    ['reference', reference],
    ...broken.map(([flag]): [string, string[]] => [flag, [...python, '--break', flag]]),
  ]);
  const runs = new Map<string, ReturnType<typeof failingOf>>();
  let previous: Promise<unknown> = Promise.resolve();
  for (const [name, command] of commands) {
    const run = previous.then(() => failingOf(command));
    runs.set(name, run);
    previous = run.catch(() => undefined);
  }

  it('a Python client written from the spec passes every scenario; the multiplex ones are not applicable to it', { timeout: 900_000 }, async () => {
    const { failing, notes, reasons } = await runs.get('python')!;
    expect(failing, reasons).toEqual([]);
    expect(notes).toEqual(multiplexIds);
  });

  it('the reference client (xanjax tail --format lines) passes every scenario, multiplex included', { timeout: 900_000 }, async () => {
    const { failing, notes, reasons } = await runs.get('reference')!;
    expect(failing, reasons).toEqual([]);
    expect(notes).toEqual([]);
  });

  for (const [flag, fails] of broken) {
    it(`a client broken by --break ${flag} fails exactly ${fails.join(', ')}`, { timeout: 900_000 }, async () => {
      const { failing, reasons } = await runs.get(flag)!;
      expect(failing, reasons).toEqual(fails);
    });
  }
});
