// Tiny checks with known outcomes, for testing the runner's machinery.
import { check, CheckNote, NotTestable, type Check, type CheckContext } from '../../conformance/check.ts';

export const passing = check('SSP-OPEN-1', 'MUST answer open with a session', async (ctx) => {
  const { body } = await ctx.open('ok');
  if (body.position !== 0) ctx.fail('position is not 0');
});

export const failingMust = check('SSP-HOLD-3', 'MUST answer a poll with a batch of no events', async (ctx) => {
  const { body } = await ctx.open('ok');
  const answer = await ctx.poll(body.sig, 0);
  if (answer.body.type === 'batch' && answer.body.events.length > 0) ctx.fail(`expected no events, got ${answer.body.events.length} <&>`);
});

export const failingShould = check('SSP-CORS-5', 'SHOULD send Access-Control-Max-Age', async (ctx: CheckContext) => {
  // ctx annotated: TypeScript only allows assertion calls through explicitly typed names.
  const answer = await ctx.raw({ method: 'OPTIONS' });
  ctx.assert(answer.headers['access-control-max-age'] !== undefined, 'no Access-Control-Max-Age');
});

export const failingMay = check('SSP-SIGNATURE-9', 'MAY re-create a forgotten session', async (ctx) => {
  ctx.fail('session was not re-created');
});

export const harnessBug = check('SSP-BATCH-2', 'MUST keep batches under maxBatchBytes', async () => {
  throw new TypeError('cannot read properties of undefined');
});

export const hanging = check('SSP-TERMINATION-4', 'MUST repeat the termination', () => new Promise<void>(() => {}));

export const schemaViolation = check('SSP-OPEN-2', 'MUST answer open with a valid session', async (ctx) => {
  await ctx.open('bad');
});

export const needsAnnex = check('SSP-ANNEX-1', 'MUST offer ssp.counter', async (ctx) => {
  await ctx.open('ssp.counter', { count: 1 });
}, { needs: ['annex'] });

export const throwsNotTestable = check('SSP-DELIVERY-7', 'MUST report a gap', async () => {
  throw new NotTestable('retainEvents is too large to overflow');
});

export const throwsNote = check('SSP-CORS-9', 'MUST list GET and POST in Access-Control-Allow-Methods', async () => {
  throw new CheckNote('not applicable: the server does not allow origin https://a.example');
});

/** Sends ctx.origin the way the CORS checks do, so a test can see which Origin arrived. */
export const sendsOrigin = check('SSP-CORS-3', 'MUST echo the Origin', async (ctx) => {
  await ctx.raw({ method: 'GET', headers: { origin: ctx.origin } });
});

export const exclusivePassing = check('SSP-LIFETIME-1', 'MUST expire an idle session', async (ctx) => {
  await ctx.open('ok');
}, { exclusive: true });

export const mixed: Check[] = [passing, failingMust, failingShould, failingMay, harnessBug, schemaViolation, exclusivePassing];
