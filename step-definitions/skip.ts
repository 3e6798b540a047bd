/**
 * Skipping a scenario with its reason. Cucumber's 'skipped' result carries no message, so the
 * reason travels as an attachment that starts with SKIP_PREFIX: the HTML report shows it, the
 * console formatter prints it (cli/progress-formatter.ts) and `testbed run` writes it into the
 * JUnit <skipped message> (cli/junit-skip-reasons.ts).
 */
import type { World } from '@cucumber/cucumber';

export const SKIP_PREFIX = 'skipped: ';

export function skip(world: World, reason: string): 'skipped' {
  world.attach(`${SKIP_PREFIX}${reason}`, { mediaType: 'text/plain' });
  return 'skipped';
}
