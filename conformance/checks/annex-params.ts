// Spec §20.2: params each annex stream accepts (boundaries included) and rejects. Valid
// samples are chosen to be cheap to open: no long stream is started by opening one.
// SSP-ANNEX-21: above size 256, at most 16 events.
export const annexStreams = ['ssp.counter', 'ssp.ticker', 'ssp.burst', 'ssp.fail'] as const;
export type AnnexStream = (typeof annexStreams)[number];

export interface ParamSample {
  params: Record<string, unknown>;
  valid: boolean;
}

export const annexParamSamples: Record<AnnexStream, ParamSample[]> = {
  'ssp.counter': [
    { params: { count: 1 }, valid: true },
    { params: { count: 10_000, intervalMs: 10_000, size: 256 }, valid: true },
    { params: { count: 16, intervalMs: 10_000, size: 65_536 }, valid: true },
    { params: { count: 17, intervalMs: 10_000, size: 257 }, valid: false },
    { params: { count: 2, intervalMs: 0, size: 0 }, valid: true },
    { params: {}, valid: false },
    { params: { count: 0 }, valid: false },
    { params: { count: 10_001 }, valid: false },
    { params: { count: 1.5 }, valid: false },
    { params: { count: '3' }, valid: false },
    { params: { count: 1, intervalMs: 10_001 }, valid: false },
    { params: { count: 1, size: 65_537 }, valid: false },
    { params: { count: 1, colour: 'red' }, valid: false },
  ],
  'ssp.ticker': [
    { params: {}, valid: true },
    { params: { intervalMs: 10 }, valid: true },
    { params: { intervalMs: 60_000 }, valid: true },
    { params: { intervalMs: 9 }, valid: false },
    { params: { intervalMs: 60_001 }, valid: false },
    { params: { intervalMs: 'fast' }, valid: false },
    { params: { count: 1 }, valid: false },
  ],
  'ssp.burst': [
    { params: { count: 1 }, valid: true },
    { params: { count: 16, size: 65_536 }, valid: true },
    { params: { count: 17, size: 256 }, valid: true },
    { params: { count: 17, size: 257 }, valid: false },
    { params: { count: 10_000, size: 65_536 }, valid: false },
    { params: { count: 10_000, size: 0 }, valid: true },
    { params: {}, valid: false },
    { params: { count: 10_001 }, valid: false },
    { params: { count: 1, size: -1 }, valid: false },
    { params: { count: 1, intervalMs: 10 }, valid: false },
  ],
  'ssp.fail': [
    { params: {}, valid: true },
    { params: { after: 1000, message: 'm'.repeat(200) }, valid: true },
    { params: { after: 0, message: 'x' }, valid: true },
    { params: { after: 1001 }, valid: false },
    { params: { after: -1 }, valid: false },
    { params: { message: '' }, valid: false },
    { params: { message: 'm'.repeat(201) }, valid: false },
    { params: { message: 7 }, valid: false },
    { params: { code: 'E' }, valid: false },
  ],
};

/** SSP-ANNEX-21: the samples above that only the size × count rule rejects. */
export function isLargeAndMany(params: Record<string, unknown>): boolean {
  return typeof params.size === 'number' && params.size > 256 && typeof params.count === 'number' && params.count > 16 && params.count <= 10_000 && params.size <= 65_536;
}
