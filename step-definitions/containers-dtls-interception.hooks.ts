/**
 * The DTLS forged-certificate matrix on the containers placement keeps its MITM and client
 * containers for the whole run (topology/containers-dtls-interception.ts); they go at its end.
 */
import { AfterAll } from '@cucumber/cucumber';
import { stopContainersDtlsInterception } from '../topology/containers-dtls-interception.ts';

AfterAll({ timeout: 120_000 }, async function () {
  await stopContainersDtlsInterception();
});
