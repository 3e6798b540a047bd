/**
 * Per-scenario state for a group of steps, kept beside the World rather than on it, so each
 * feature's steps own their fields and nothing leaks between scenarios (a fresh World each time).
 */
import type { TestbedWorld } from './world.ts';

export function scenarioState<T extends object>(initial: () => T): (world: TestbedWorld) => T {
  const states = new WeakMap<TestbedWorld, T>();
  return (world) => {
    let s = states.get(world);
    if (!s) states.set(world, (s = initial()));
    return s;
  };
}
