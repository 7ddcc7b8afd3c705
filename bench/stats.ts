// Latency histogram (0.1 ms buckets up to two minutes) and the summaries the report uses.

const BUCKET_MS = 0.1;
const BUCKETS = 1_200_000;

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export class Histogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #max = 0;

  add(ms: number): void {
    const bucket = Math.min(BUCKETS - 1, Math.max(0, Math.floor(ms / BUCKET_MS)));
    this.#counts[bucket]++;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }

  summary(): LatencySummary {
    return { count: this.#count, p50: this.#quantile(0.5), p99: this.#quantile(0.99), max: this.#max };
  }

  #quantile(q: number): number {
    if (this.#count === 0) return 0;
    const target = Math.ceil(q * this.#count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= target) return (i + 1) * BUCKET_MS;
    }
    return this.#max;
  }
}

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
