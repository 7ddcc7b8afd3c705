// Every broken server variant, by the part of the protocol it breaks.
import { annexVariants } from './annex-variants.ts';
import { authVariants } from './auth-variants.ts';
import { deliveryVariants } from './delivery-variants.ts';
import { edgeVariants } from './edge-variants.ts';
import { evidenceVariants } from './evidence-variants.ts';
import { httpVariants } from './http-variants.ts';
import { issueExampleVariants } from './issue-examples.ts';
import { multiplexVariants } from './multiplex-variants.ts';
import type { Variant } from './proxy.ts';
import { sessionVariants } from './session-variants.ts';

export const allVariants: readonly Variant[] = [...issueExampleVariants, ...httpVariants, ...sessionVariants, ...deliveryVariants, ...annexVariants, ...edgeVariants, ...evidenceVariants, ...multiplexVariants, ...authVariants];
