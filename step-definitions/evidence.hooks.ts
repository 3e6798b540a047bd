/**
 * Evidence under the scenario, not under a collapsed "N hooks": after the last step (or the step
 * that failed, since no later step runs), stop the topology and attach its evidence from an
 * AfterStep hook, whose attachments Cucumber files under that step. The After hook in hooks.ts
 * still stops whatever is left and attaches there only what was not attached here.
 */
import { AfterStep, Status } from '@cucumber/cucumber';
import { existsSync, readFileSync } from 'node:fs';
import type { TestbedWorld } from './world.ts';
import { attachEvidenceFiles } from './evidence.ts';

const attached = new WeakSet<TestbedWorld>();

/** Stop the scenario's topology (if it started) and attach its evidence once. */
export async function finishAndAttachEvidence(world: TestbedWorld, failed: boolean): Promise<void> {
  const evidence = await world.finish();
  if (!evidence || attached.has(world)) return;
  attached.add(world);
  attachEvidenceFiles(world, world.dir, evidence);
  // On failure the cloud's audit log is what says which packet was refused and why.
  if (failed && existsSync(evidence.auditLog)) world.attach(readFileSync(evidence.auditLog, 'utf8'), { mediaType: 'text/plain', fileName: 'audit.jsonl' });
}

AfterStep(async function (this: TestbedWorld, { pickle, pickleStep, result }) {
  const failed = result?.status === Status.FAILED;
  const last = pickle.steps.at(-1)?.id === pickleStep.id;
  if (failed || last) await finishAndAttachEvidence(this, failed);
});
