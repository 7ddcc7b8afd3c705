// Before any test: the browser client module that the reference server serves at
// /xanjax-client.js, built from the current sources (the tests run the sources, not dist/).
import { buildClientModule } from '../scripts/build.ts';

export default async function setup(): Promise<void> {
  await buildClientModule();
}
