// Broken server variants, shard 1 of 2 (the proof itself: broken/prove-variants.ts).
import { proveVariantShard } from './broken/prove-variants.ts';

proveVariantShard(0, 2);
