/**
 * When, in round trips, a reading left the device: read from the capture beside it. TLS 1.3
 * encrypts everything after the ServerHello (RFC 8446 §2), so the reading is found by its size:
 * the device's CONNECT + PUBLISH go in one application_data record of payload + 1 (inner content
 * type) + 16 (AEAD tag) bytes plus the 5-byte header (RFC 8446 §5.2) — in the ClientHello's
 * flight when they travel as 0-RTT early data, after the server's Finished otherwise. The round
 * trips before it are the answers the device waited for: TCP's SYN-ACK and each server flight.
 */
import { readPcap } from '../capture/pcap-reader.ts';
import { analyseCapture, describeFlights, type HandshakeAnalysis } from './handshake-analyser.ts';

const RECORD_HEADER = 5;
const INNER_TYPE_AND_TAG = 1 + 16;
const APPLICATION_DATA = 23;

export interface ReadingFlightCount {
  readonly connection: number;
  /** Answers the device waited for before the reading left (TCP's included). */
  readonly roundTripsBeforeReading: number;
  /** The reading left in the flight that carried the ClientHello. */
  readonly inFirstTlsFlight: boolean;
  /** From the SYN to the reading's record, on the capture's clock (ms). */
  readonly msFromSynToReading: number;
  readonly analysis: HandshakeAnalysis;
}

/** Per TCP connection of the capture, in order; throws with the flights when a reading's record is not found. */
export function readingFlights(pcap: string, payloadBytes: number): ReadingFlightCount[] {
  const recordBytes = RECORD_HEADER + payloadBytes + INNER_TYPE_AND_TAG;
  return analyseCapture(readPcap(pcap).packets).map((analysis, connection) => {
    const index = analysis.flights.findIndex((f) => f.direction === 'client-to-server' && f.records.some((r) => r.contentType === APPLICATION_DATA && r.wireBytes === recordBytes));
    if (index < 0) {
      throw new Error(`reading-flight: connection ${connection + 1} of ${pcap} has no ${recordBytes}-byte application_data record from the device (the reading's size); its flights:\n${describeFlights(analysis).join('\n')}`);
    }
    const tcp = analysis.roundTrips.find((r) => r.layer === 'tcp');
    const serverFlights = analysis.flights.slice(0, index).filter((f) => f.direction === 'server-to-client').length;
    const flight = analysis.flights[index] as HandshakeAnalysis['flights'][number];
    const record = flight.records.find((r) => r.contentType === APPLICATION_DATA && r.wireBytes === recordBytes);
    const start = tcp?.startMicros ?? (analysis.flights[0]?.startMicros as bigint);
    return {
      connection: connection + 1,
      roundTripsBeforeReading: serverFlights + (tcp ? 1 : 0),
      inFirstTlsFlight: index === 0,
      msFromSynToReading: Number((record?.timestampMicros ?? flight.startMicros) - start) / 1000,
      analysis,
    };
  });
}
