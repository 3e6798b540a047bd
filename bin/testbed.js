#!/usr/bin/env node
// Launcher for the `testbed` CLI: registers tsx so the TypeScript sources run as they are
// (no build step), then hands over to cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
