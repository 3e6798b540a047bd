/**
 * The World of one scenario: the topology it stands up and what the scenario did with it.
 * The constructor stays synchronous (cucumber-js rule); topologies start in steps and hooks.
 */
import { setWorldConstructor, World, type IWorldOptions } from '@cucumber/cucumber';
import type { GatewayMalice } from '../emulators/gateway-malice.ts';
import type { LinkImpairments } from '../links/impairments.ts';
import type { GatewayCloudMitm, Evidence, Path, SentReading, Topology, TopologySpec } from '../topology/topology.ts';
import { createTopology, scenarioDir } from './run-context.ts';
import { clientProfile } from '../emulators/tls-client-profile.ts';
import type { Graph } from '../topology/graph.ts';
import { currentPlacement, requireRealizable } from '../topology/placements.ts';
import { reporting } from '../topology/recipes.ts';
import { useDtlsVersion } from '../emulators/dtls/dtls-version.ts';
import type { DeviceCommandsSpec } from '../topology/command-topology.ts';
import type { CommandHandlerName } from '../emulators/commands/command-handlers.ts';

export class TestbedWorld extends World {
  wearableCount = 1;
  wearableProfile = 'secure';
  path: Path = 'terminating-gateway';
  malice: GatewayMalice[] = [];
  /**
   * Simulated seconds per wall second: the source chapter's 30 s reading interval takes 50 ms.
   * Not more: network time is compressed too, and the cloud's ±300 s timestamp window (E3
   * "stale timestamp") is then ±0.5 s of wall time; at 3000× a busy CI machine delaying a
   * reading by 200 ms made it "stale".
   */
  speedup = 600;
  /** Impairments of the wearables' first link (set by DTLS steps). */
  deviceLinkImpairments: LinkImpairments | undefined;
  /** DTLS wearables handshake again after this many unacknowledged sends (set by the Connection ID steps). */
  dtlsReconnectAfterSends: number | undefined;
  gatewayUpstreamProfile: string | undefined;
  gatewayCloudMitm: GatewayCloudMitm | undefined;
  /** The wearables' command handler (§17.5; topology/command-topology.ts), when they take commands. */
  deviceCommands: CommandHandlerName | undefined;
  readonly sent: SentReading[] = [];
  evidence: Evidence | undefined;
  /** The graph of roles and links this scenario stood up (topology/graph.ts), once started. */
  graph: Graph | undefined;
  #topology: Topology | undefined;
  dir = '';

  constructor(options: IWorldOptions) {
    super(options);
    // Every scenario starts on DTLS 1.2; a DTLS 1.3 Given step switches it (dtls13.steps.ts).
    useDtlsVersion('dtls1.2');
  }

  /** Start the topology on first use, with everything the Given steps declared. */
  async topology(): Promise<Topology> {
    if (!this.#topology) {
      const spec: TopologySpec & DeviceCommandsSpec = { ...(this.deviceCommands ? { deviceCommands: this.deviceCommands } : {}), wearables: this.wearableCount, path: this.path, gatewayMalice: this.malice, speedup: this.speedup, wearableProfile: this.wearableProfile, ...(this.deviceLinkImpairments ? { deviceLinkImpairments: this.deviceLinkImpairments } : {}),
        ...(this.gatewayUpstreamProfile ? { gatewayUpstreamProfile: this.gatewayUpstreamProfile } : {}),
        ...(this.gatewayCloudMitm ? { gatewayCloudMitm: this.gatewayCloudMitm } : {}),
        ...(this.dtlsReconnectAfterSends ? { dtlsReconnectAfterSends: this.dtlsReconnectAfterSends } : {}),
      };
      // The graph this scenario declared, judged by the run's placement before anything starts.
      const placement = currentPlacement();
      this.graph = requireRealizable(reporting({ broker: placement.defaultBroker, wearables: spec.wearables, path: spec.path, profile: spec.wearableProfile, malice: spec.gatewayMalice.map((m) => ({ name: m.name, ...(m.options ? { options: m.options } : {}) })), speedup: spec.speedup, plaintext: clientProfile(spec.wearableProfile).plaintext === true, ...(spec.deviceLinkImpairments ? { deviceLinkImpairments: spec.deviceLinkImpairments } : {}), ...(spec.gatewayUpstreamProfile ? { gatewayUpstreamProfile: spec.gatewayUpstreamProfile } : {}), ...(spec.gatewayCloudMitm ? { gatewayCloudMitm: spec.gatewayCloudMitm } : {}) }), placement);
      const topology = createTopology(this.dir, spec.path);
      this.#topology = topology;
      await topology.start(spec);
    }
    return this.#topology;
  }

  get started(): Topology | undefined {
    return this.#topology;
  }

  /** Stop the topology (if any) and keep its evidence for Then steps and attachments. */
  async finish(): Promise<Evidence | undefined> {
    if (this.#topology && !this.evidence) this.evidence = await this.#topology.stop();
    return this.evidence;
  }

  static newScenarioDir(name: string): string {
    return scenarioDir(name);
  }
}

setWorldConstructor(TestbedWorld);
