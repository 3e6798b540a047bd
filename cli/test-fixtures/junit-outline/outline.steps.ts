// Steps of the JUnit outline fixture (cli/junit-skip-reasons.test.ts): a row skipped as a real scenario skips.
import { Given } from '@cucumber/cucumber';
import { skip } from '../../../step-definitions/skip.ts';

Given('the placement cannot realize the {string} row', function (row: string) {
  return skip(this, `the containers placement cannot realize recipe "fixture": the ${row} row's reason`);
});
