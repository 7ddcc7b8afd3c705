import { allChecks } from './conformance/checks/index.ts';
import { runChecks } from './conformance/runner.ts';
import { allVariants } from './test/conformance/broken/index.ts';
import { startBroken } from './test/conformance/broken/proxy.ts';
const names = process.argv.slice(2);
for (const variant of allVariants.filter((v) => names.includes(v.name))) {
  const server = await startBroken(variant);
  try {
    const only = [...new Set(variant.breaks.map((id) => id.split('-')[1]!))];
    const summary = await runChecks(allChecks, { endpoint: server.url, concurrency: 8, only });
    const failing = [...new Set(summary.results.filter((r) => r.status === 'fail' || r.status === 'warning').map((r) => r.id.split('/')[0]!))].sort();
    const harness = summary.results.filter((r) => r.status === 'harness-error').map((r) => `${r.id}: ${r.reason}`);
    const ok = JSON.stringify(failing) === JSON.stringify([...variant.breaks].sort()) && harness.length === 0;
    console.log(ok ? 'OK  ' : 'BAD ', variant.name, 'expected', variant.breaks.join(','), 'got', failing.join(','), harness.join(' | '));
    if (!ok) for (const r of summary.results.filter((r) => r.status === 'fail' || r.status === 'warning')) console.log('    ', r.id, (r.reason ?? '').slice(0, 200));
  } finally {
    await server.close();
  }
}
