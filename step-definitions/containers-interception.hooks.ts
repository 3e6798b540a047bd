/**
 * The forged-certificate matrix on the containers placement keeps its MITM and victim
 * containers for the whole run (topology/containers-interception.ts); they go at its end.
 */
import { AfterAll } from '@cucumber/cucumber';
import { stopContainersInterception } from '../topology/containers-interception.ts';

AfterAll({ timeout: 120_000 }, async function () {
  await stopContainersInterception();
});
