// Every check, section by section in spec order (one module per spec section).
import type { Check } from '../check.ts';
import { annexChecks } from './annex.ts';
import { auditChecks } from './audit.ts';
import { authChecks } from './auth.ts';
import { batchChecks } from './batch.ts';
import { closeChecks } from './close.ts';
import { corsChecks } from './cors.ts';
import { deliveryChecks } from './delivery.ts';
import { discoveryChecks } from './discovery.ts';
import { errorChecks } from './error.ts';
import { extChecks } from './ext.ts';
import { framingChecks } from './framing.ts';
import { holdChecks } from './hold.ts';
import { lifetimeChecks } from './lifetime.ts';
import { messageChecks } from './message.ts';
import { multiplexChecks } from './multiplex.ts';
import { openChecks } from './open.ts';
import { restartChecks } from './restart.ts';
import { signatureChecks } from './signature.ts';
import { terminationChecks } from './termination.ts';
import { transportChecks } from './transport.ts';

export const allChecks: readonly Check[] = [
  ...transportChecks,
  ...corsChecks,
  ...authChecks,
  ...discoveryChecks,
  ...messageChecks,
  ...extChecks,
  ...openChecks,
  ...signatureChecks,
  ...deliveryChecks,
  ...holdChecks,
  ...batchChecks,
  ...terminationChecks,
  ...closeChecks,
  ...lifetimeChecks,
  ...errorChecks,
  ...framingChecks,
  ...annexChecks,
  ...multiplexChecks,
  // Need --server-command: they stop and restart the server.
  ...restartChecks,
  // Last: they judge every response the checks above received.
  ...auditChecks,
];
