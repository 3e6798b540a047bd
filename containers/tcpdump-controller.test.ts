/**
 * The long-lived capture sidecar: two captures in a row from one sidecar, each its own whole
 * pcap holding only its own traffic, with tcpdump's packet count; a filter the sidecar's shell
 * would interpret is refused before it gets there; nothing labelled is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { skipForMissingTool } from '../cli/prerequisites.ts';
import { readPcap } from '../capture/pcap-reader.ts';
import { dockerDaemonStatus } from './docker-daemon.ts';
import { docker } from './docker-cli.ts';
import { labelArgs, removeRun } from './run-labels.ts';
import { ContainersTopology } from '../topology/containers-topology.ts';
import { CONTROLLER_CAPTURE_DIR, TcpdumpController } from './tcpdump-controller.ts';

const status = await dockerDaemonStatus();
const skip = status.running ? false : skipForMissingTool(`no Docker daemon: ${status.reason}`);

test('one sidecar, two captures: each pcap whole, with its own packets only; a shell-active filter is refused', { skip, timeout: 120_000 }, async () => {
  const images = await ContainersTopology.prepare();
  const runId = `tb-ctl-test-${randomBytes(3).toString('hex')}`;
  const hostDir = mkdtempSync(join(tmpdir(), 'tb-ctl-'));
  mkdirSync(join(hostDir, 'a'));
  mkdirSync(join(hostDir, 'b'));
  try {
    // A target namespace with only loopback: the traffic is ours, made inside it.
    const { stdout } = await docker(['run', '-d', '--rm', '--network', 'none', ...labelArgs(runId), '--entrypoint', 'sleep', images.tcpdump, '120']);
    const target = stdout.trim();
    const sidecar = TcpdumpController.start({ image: images.tcpdump, runId, target, hostDir });
    const counts: number[] = [];
    for (const [dir, port] of [['a', 7001], ['b', 7002]] as const) {
      const capture = await sidecar.capture(`${CONTROLLER_CAPTURE_DIR}/${dir}/lo.pcap`, 'udp');
      // bash's /dev/udp: three datagrams to a port of this capture's own.
      await docker(['exec', target, 'bash', '-c', `for i in 1 2 3; do echo ${dir} > /dev/udp/127.0.0.1/${port}; done`]);
      counts.push(await capture.stop());
      const read = readPcap(join(hostDir, dir, 'lo.pcap'));
      assert.deepEqual(read.problems, [], `${dir}: the pcap does not parse`);
      const ports = new Set(read.packets.map((p) => p.dst.port));
      assert.deepEqual([...ports], [port], `${dir}: captured ports ${[...ports].join(', ')}`);
    }
    assert.ok(counts.every((n) => n >= 3), `packet counts ${counts.join(', ')}`);
    await assert.rejects(sidecar.capture(`${CONTROLLER_CAPTURE_DIR}/a/x.pcap`, 'udp; rm -rf /'), /holds a character the sidecar's shell would interpret/);
    await sidecar.close();
  } finally {
    await removeRun(runId);
  }
  assert.equal((await docker(['ps', '-aq', '--filter', `label=org.testbed.run=${runId}`])).stdout.trim(), '');
});
