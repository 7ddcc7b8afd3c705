// A server for the runner's --server-command checks: the reference server (conformance
// mode, a kept secret, idleTimeoutMs 8 s, many times a restart on a loaded machine)
// behind the broken-variant proxy, as its own process that SIGTERM shuts down gracefully.
//   node --import tsx test/conformance/broken/restart-server.ts --port P --secret S --journal FILE [--variant NAME]
// The `journal` variant keeps termination memory across restarts in FILE (SSP-SIGNATURE-14,
// first means; so the server is told it need not wait out old signatures, keepsTerminations)
// and is the conforming configuration; the others each break one promise.
import { parseArgs } from 'node:util';
import { restartVariants } from './restart-variants.ts';
import { startBroken } from './proxy.ts';

const { values } = parseArgs({
  options: { port: { type: 'string' }, secret: { type: 'string' }, journal: { type: 'string' }, variant: { type: 'string', default: 'journal' }, idle: { type: 'string', default: '8000' } },
});
const variant = restartVariants(values.journal ?? '').find((candidate) => candidate.name === values.variant);
if (!variant || values.port === undefined || values.secret === undefined) {
  console.error(`usage: restart-server.ts --port P --secret S --journal FILE [--variant ${restartVariants('').map((v) => v.name).join('|')}]`);
  process.exit(2);
}
const server = await startBroken(variant, { port: Number(values.port), server: { secret: values.secret, keepsTerminations: true, limits: { idleTimeoutMs: Number(values.idle) } } });
console.log(`restart-server (${variant.name}): ${server.url}`);
process.once('SIGTERM', () => {
  void (variant.onShutdown ? variant.onShutdown(server) : server.shutdown()).then(() => process.exit(0));
});
