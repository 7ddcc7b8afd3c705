// Spec §5 Discovery: GET answers a schema-valid document; versions, limits and streams
// describe what the server accepts.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { check, CheckNote } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import type { DiscoveryDocument } from '../../schemas/types.gen.ts';
import { createValidator } from '../../schemas/index.ts';
import { jsonOf } from './answers.ts';
import { annexParamSamples, annexStreams } from './annex-params.ts';

/** A fresh GET (the context's copy was fetched before the check ran); its status is SSP-DISCOVERY-1's. */
async function fetchDiscovery(ctx: CheckContext): Promise<DiscoveryDocument> {
  const body = jsonOf(ctx, await ctx.raw({ method: 'GET' }), 'GET') as DiscoveryDocument;
  ctx.assert(body?.type === 'discovery', `GET: expected a discovery document, got ${JSON.stringify(body).slice(0, 120)}`);
  return body;
}

export const discoveryChecks: Check[] = [
  check('SSP-DISCOVERY-1', 'MUST answer GET with 200 and the discovery document', async (ctx: CheckContext) => {
    const answer = await ctx.raw({ method: 'GET' });
    const body = jsonOf(ctx, answer, 'GET') as { type?: unknown };
    ctx.assert(answer.status === 200 && body?.type === 'discovery', `GET: expected 200 discovery, got ${answer.status} ${String(body?.type)}`);
  }),
  check('SSP-DISCOVERY-2', 'MUST send a discovery document valid against discovery.schema.json', async (ctx: CheckContext) => {
    const result = createValidator().validate('discovery', await fetchDiscovery(ctx));
    ctx.assert(result.ok, `discovery document: ${result.ok ? '' : result.errors.join('; ')}`);
  }),
  check('SSP-DISCOVERY-3', 'MUST list version 1 in versions', async (ctx: CheckContext) => {
    const { versions } = await fetchDiscovery(ctx);
    ctx.assert(Array.isArray(versions) && versions.includes(1), `versions is ${JSON.stringify(versions)}`);
  }),
  check('SSP-DISCOVERY-4', 'MUST advertise every limit as a positive integer (batchDelayMs non-negative)', async (ctx: CheckContext) => {
    const { limits } = await fetchDiscovery(ctx);
    for (const [name, value] of Object.entries(limits)) {
      const least = name === 'batchDelayMs' ? 0 : 1;
      ctx.assert(value !== undefined && Number.isInteger(value) && value >= least, `limits.${name} is ${JSON.stringify(value)}`);
    }
  }),
  check('SSP-DISCOVERY-8', 'MUST advertise maxBatchBytes and maxBodyBytes of at least 4096 and idleTimeoutMs of at least 2000', async (ctx: CheckContext) => {
    const { limits } = await fetchDiscovery(ctx);
    for (const [name, least] of [['maxBatchBytes', 4096], ['maxBodyBytes', 4096], ['idleTimeoutMs', 2000]] as const) {
      ctx.assert(limits[name] >= least, `limits.${name} is ${limits[name]}, below its lower bound ${least}`);
    }
  }),
  check('SSP-DISCOVERY-9', 'MUST answer an open with params for a stream whose entry has no params schema with invalid-params', async (ctx: CheckContext) => {
    const bare = (await fetchDiscovery(ctx)).streams.find((stream) => stream.params === undefined);
    if (!bare) throw new CheckNote('not applicable: every stream the server offers has a params schema');
    const answer = await ctx.send({ ssp: 1, type: 'open', stream: bare.name, params: { 'conformance-unknown': 1 } });
    ctx.assert(answer.status === 422 && (answer.body as { code?: string }).code === 'invalid-params', `open of ${bare.name} with params: expected 422 invalid-params, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
  }),
  check('SSP-DISCOVERY-5', 'SHOULD advertise maxHoldMs of at most 25000', async (ctx: CheckContext) => {
    const { limits } = await fetchDiscovery(ctx);
    ctx.assert(limits.maxHoldMs <= 25_000, `limits.maxHoldMs is ${limits.maxHoldMs}, above common proxy timeouts`);
  }),
  check('SSP-DISCOVERY-6', 'MUST list every stream it accepts in an open', async (ctx: CheckContext) => {
    // The streams a runner knows by name: whichever the server opens must be listed.
    const listed = new Set((await fetchDiscovery(ctx)).streams.map((stream) => stream.name));
    for (const [stream, params] of Object.entries(annexParamSamples).map(([name, samples]) => [name, samples.find((s) => s.valid)!.params] as const)) {
      const answer = await ctx.send<{ type: string; sig?: string }>({ ssp: 1, type: 'open', stream, params });
      if (answer.body.type !== 'session') continue;
      await ctx.close(answer.body.sig!);
      ctx.assert(listed.has(stream), `the server opened '${stream}' but its discovery document does not list it`);
    }
  }),
  check('SSP-DISCOVERY-7', 'MUST give each stream a params JSON Schema that accepts exactly the params the server accepts', async (ctx: CheckContext) => {
    const document = await fetchDiscovery(ctx);
    const ajv = new Ajv2020({ strict: false });
    for (const name of annexStreams) {
      const entry = document.streams.find((stream) => stream.name === name);
      if (!entry?.params) continue;
      let validate;
      try {
        validate = ajv.compile(entry.params);
      } catch (error) {
        return ctx.fail(`${name}: params is not a JSON Schema: ${(error as Error).message}`);
      }
      for (const sample of annexParamSamples[name]) {
        const answer = await ctx.send<{ type: string; sig?: string; code?: string }>({ ssp: 1, type: 'open', stream: name, params: sample.params });
        if (answer.body.type === 'session') await ctx.close(answer.body.sig!);
        const accepted = answer.body.type === 'session';
        ctx.assert(accepted || answer.body.code === 'invalid-params', `${name} ${JSON.stringify(sample.params)}: expected session or invalid-params, got ${answer.status} ${answer.body.type} ${answer.body.code ?? ''}`);
        ctx.assert(validate(sample.params) === accepted, `${name} ${JSON.stringify(sample.params)}: the params schema ${accepted ? 'rejects' : 'accepts'} it but the server ${accepted ? 'accepted' : 'rejected'} it`);
      }
    }
  }, { needs: ['annex'] }),
];
