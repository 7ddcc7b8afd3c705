// The live progress line on a terminal's stderr while checks run: rewritten in place,
// erased before the results are printed. Only used when stderr is a TTY.
import type { CheckResult } from '../check.ts';

export interface ProgressLine {
  update(result: CheckResult, done: number, total: number): void;
  clear(): void;
}

export function progressLine(stream: { write(text: string): unknown }): ProgressLine {
  let failed = 0;
  return {
    update(result, done, total) {
      if (result.status === 'fail' || result.status === 'unexpected-pass') failed++;
      const problems = failed > 0 ? `, ${failed} failed` : '';
      stream.write(`\r\x1b[2K[${done}/${total}${problems}] ${result.id}`);
    },
    clear() {
      stream.write('\r\x1b[2K');
    },
  };
}
