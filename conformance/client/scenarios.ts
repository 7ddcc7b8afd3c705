// Every client scenario of the kit, in the order they are listed and run (spec §20.5).
import { coreScenarios } from './scenarios-core.ts';
import { edgeScenarios } from './scenarios-edges.ts';
import { sessionScenarios } from './scenarios-session.ts';
import { multiplexScenarios } from './scenarios-multiplex.ts';
import type { Scenario } from './scenario-kit.ts';

export type { ClientRun, Scenario } from './scenario-kit.ts';

export const scenarios: readonly Scenario[] = [...coreScenarios, ...edgeScenarios, ...sessionScenarios, ...multiplexScenarios];
