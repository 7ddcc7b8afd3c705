// The client kit proves itself (issue 9 §3): the reference client (`xanjax tail --format
// lines`) and a Python client written from the spec pass every scenario; each deliberately
// broken client fails exactly the scenario of the rule it breaks.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runClientScenarios } from '../../conformance/client/run-clients.ts';
import { DEFAULT_TIMEOUT_MS } from '../../conformance/client/scenario-kit.ts';
import { scenarios as allScenarios } from '../../conformance/client/scenarios.ts';
import { multiplexScenarios } from '../../conformance/client/scenarios-multiplex.ts';
import { testBin } from '../support/bundles.ts';
import { startPooled } from '../support/pool.ts';
import { brokenClients } from './broken-clients.ts';

// The interpreter itself, resolved once: `python3` may be a version manager's shim (pyenv's
// costs a shell and about 0.5 s of CPU per start), and every scenario starts the client anew.
const interpreter = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const python = [interpreter, 'test/client-kit/ssp_client.py'];
// Every §20.5 input as arguments: params, the credentials (SSP_HEADERS) and several streams (SSP_STREAMS).
const reference = ['node', testBin, 'tail', '{endpoint}', '{stream}', '--params', '{params}', '--headers', '{headers}', '--streams', '{streams}', '--format', 'lines'];

async function failingOf(command: string[], only?: string[]) {
  // Generous kill bounds: the clients' own timing is judged from the configured delays, not from these.
  const summary = await runClientScenarios({ command, concurrency: 4, timeoutScale: 2, ...(only ? { only } : {}) });
  const failed = summary.results.filter((result) => result.status === 'fail' || result.status === 'warning' || result.status === 'harness-error');
  const notes = summary.results.filter((result) => result.status === 'note').map((result) => result.id).sort();
  return { failing: failed.map((result) => result.id).sort(), notes, reasons: failed.map((result) => `${result.id}: ${result.reason ?? ''}`).join('\n\n') };
}

/**
 * XANJAX_FULL_PROOF=1 (`npm run proof:clients`) runs each broken client through every
 * scenario: it fails exactly its own. `npm test` runs it through the scenarios of the
 * requirements it breaks and one plain scenario, so that the file stays within the test
 * budget; within them it still fails exactly the listed ones.
 */
const full = process.env.XANJAX_FULL_PROOF === '1';
const proofSelection = (fails: string[]) => [...new Set(fails.map((id) => id.split('/')[0]!)), 'SSP-CLIENT-3/newest-signature'];

const multiplexIds = multiplexScenarios.map((scenario) => scenario.id).sort();
const broken = brokenClients.map(({ flag, fails }): [string, string[]] => [flag, fails]);
/** The longest kill bound among the scenarios a broken client must fail. */
const longestBound = (fails: string[]) => Math.max(...fails.map((id) => allScenarios.find((scenario) => scenario.id === id)?.timeoutMs ?? DEFAULT_TIMEOUT_MS));

describe('client conformance kit', () => {
  // Every client run, four at a time (each runs four scenarios at once): their processes
  // mostly wait on the scenarios' timers, and the reference client starts from a bundle
  // (cheap). A broken client may hang in a scenario it fails until that scenario's kill
  // bound, so the broken clients with the longest bounds start first; the three runs through
  // every scenario, the heaviest, come last, so that they do not load the machine while the
  // timing of the first broken clients (SSP-CLIENT-17's jitter among them) is judged.
  const runs = new Map<string, () => ReturnType<typeof failingOf>>([
    ...[...broken]
      .sort(([, a], [, b]) => longestBound(b) - longestBound(a))
      .map(([flag, fails]) => [flag, () => failingOf([...python, '--break', flag], full ? undefined : proofSelection(fails))] as const),
    ['python', () => failingOf(python)],
    ['reference', () => failingOf(reference)],
    ['single-stream', () => failingOf([...python, '--single-stream'], multiplexIds)],
  ]);
  const outcomes = startPooled([...runs.keys()], 4, (name) => runs.get(name)!());

  it('a Python client written from the spec passes every scenario, multiplex included', { timeout: 900_000 }, async () => {
    const { failing, notes, reasons } = await outcomes.get('python')!;
    expect(failing, reasons).toEqual([]);
    expect(notes).toEqual([]);
  });

  it('a client that follows one stream only gets the multiplex scenarios as not applicable, not failed', { timeout: 900_000 }, async () => {
    const { failing, notes, reasons } = await outcomes.get('single-stream')!;
    expect(failing, reasons).toEqual([]);
    expect(notes).toEqual(multiplexIds);
  });

  it('the reference client (xanjax tail --format lines) passes every scenario, multiplex included', { timeout: 900_000 }, async () => {
    const { failing, notes, reasons } = await outcomes.get('reference')!;
    expect(failing, reasons).toEqual([]);
    expect(notes).toEqual([]);
  });

  for (const [flag, fails] of broken) {
    it(`a client broken by --break ${flag} fails exactly ${fails.join(', ')}`, { timeout: 900_000 }, async () => {
      const { failing, reasons } = await outcomes.get(flag)!;
      expect(failing, reasons).toEqual(fails);
    });
  }
});
