/**
 * The demo's evidence lines: the capture, the key log, and the tshark and Wireshark commands that
 * decrypt it — with the server port read from the capture itself (the side that answered the
 * SYN), because the demo's links listen on ephemeral loopback ports that tshark cannot guess.
 */
import { readPcap, reassembleTcpStreams } from '../capture/pcap-reader.ts';
import { tsharkLine } from '../api/client-lines.ts';

/** TCP server ports in a capture, ascending. */
export function captureServerPorts(pcap: string): number[] {
  const { packets } = readPcap(pcap);
  return [...new Set(reassembleTcpStreams(packets).map((s) => s.server.port))].sort((a, b) => a - b);
}

/** The evidence block printed after a demo. */
export function demoEvidenceLines(capture: string, keyLog: string): string[] {
  const ports = captureServerPorts(capture);
  const tshark = tsharkLine(capture, keyLog, ports);
  // Wireshark takes the same preferences and decode-as options as tshark (-o, -d), then the file.
  const wireshark = `wireshark ${tshark.replace(/^tshark -r \S+ /, '')} ${tshark.split(' ')[2] ?? capture}`;
  return [
    'evidence:',
    `  capture: ${capture}`,
    `  key log: ${keyLog}`,
    ports.length ? `  server port in the capture: ${ports.join(', ')} (TLS carrying MQTT)` : '  the capture holds no TCP connection (the client never connected)',
    `  tshark:    ${tshark}`,
    `  wireshark: ${wireshark}`,
  ];
}
