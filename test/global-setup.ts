// Before any test: the browser client module that the reference server serves at
// /xanjax-client.js, built from the current sources (the tests run the sources, not dist/),
// and the bundles of the commands tests start as child processes (support/bundles.ts).
import { buildClientModule } from '../scripts/build.ts';
import { buildTestBundles } from './support/bundles.ts';

export default async function setup(): Promise<void> {
  await Promise.all([buildClientModule(), buildTestBundles()]);
}
