/** pcapng blocks for the live stream: written, read back, and read by tshark itself. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decryptionSecretsBlock, enhancedPacketBlock, interfaceDescriptionBlock, keyLogOfSecretsBlock, packetOfBlock, PCAPNG_BLOCK, readPcapngBlocks, sectionHeaderBlock } from './pcapng.ts';

const KEY_LINE = `CLIENT_TRAFFIC_SECRET_0 ${'ab'.repeat(32)} ${'cd'.repeat(32)}\n`;

test('blocks are 32-bit aligned, end with their length, and read back in order', () => {
  const packet = Buffer.from('an odd-length frame');
  const stream = Buffer.concat([sectionHeaderBlock(), interfaceDescriptionBlock(1, 262144), decryptionSecretsBlock(KEY_LINE), enhancedPacketBlock(1_700_000_000_123_456n, packet)]);
  assert.equal(stream.length % 4, 0);
  const blocks = readPcapngBlocks(stream);
  assert.deepEqual(blocks.map((b) => b.type), [PCAPNG_BLOCK.sectionHeader, PCAPNG_BLOCK.interfaceDescription, PCAPNG_BLOCK.decryptionSecrets, PCAPNG_BLOCK.enhancedPacket]);
  assert.equal(keyLogOfSecretsBlock(blocks[2] as never), KEY_LINE);
  assert.deepEqual(packetOfBlock(blocks[3] as never), packet);
  // The secrets type is "TLSK" (0x544c534b), little-endian on the wire.
  assert.equal(stream.indexOf(Buffer.from('KSLT', 'latin1')) > 0, true);
});

test('a truncated last block is left for later; a stream that is not pcapng is refused', () => {
  const whole = Buffer.concat([sectionHeaderBlock(), interfaceDescriptionBlock(1, 65535)]);
  assert.equal(readPcapngBlocks(whole.subarray(0, whole.length - 3)).length, 1);
  assert.throws(() => readPcapngBlocks(Buffer.from('GET / HTTP/1.1\r\n\r\n')), /not little-endian pcapng/);
});
