import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFleetPlan } from './fleet-capacity.ts';

test('a plan beyond the machine is refused up front with the estimate and what to change', () => {
  assert.throws(() => checkFleetPlan({ wearables: 5000, readingsPerDevice: 3, speedup: 100 }), /16667 readings\/s; this machine carries about 500 .* lower the speed-up to 3×/);
  assert.throws(() => checkFleetPlan({ wearables: 10, readingsPerDevice: 1000, speedup: 1 }), /would take about 30000 s .* over the 600 s bound/);
  assert.throws(() => checkFleetPlan({ wearables: 6000, readingsPerDevice: 1, speedup: 1 }), /wearables must be a whole number in 1\.\.5000, got 6000/);
  assert.throws(() => checkFleetPlan({ wearables: 10, readingsPerDevice: 0.5, speedup: 1 }), /readings per wearable/);
  const e = checkFleetPlan({ wearables: 5000, readingsPerDevice: 2, speedup: 2 });
  assert.ok(Math.abs(e.readingsPerSecond - 333.3) < 1);
});
