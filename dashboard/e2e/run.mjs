// Runs the end-to-end tests one after another and ends with the line
// "N passed, N failed, N skipped". CHATLAB_BIN names the binary to test
// (make dashboard-e2e passes bin/chatlab); otherwise one is built.
import * as cluster from './cluster.mjs';
import * as sim from './sim.mjs';
import * as report from './report.mjs';
import { Skip, chatlabBinary } from './lib.mjs';

const tests = [cluster, sim, report];
const only = process.argv[2];
const binary = chatlabBinary();
let passed = 0;
let failed = 0;
let skipped = 0;
for (const test of tests.filter((t) => !only || t.name.includes(only))) {
  console.log(`e2e: ${test.name}`);
  const started = Date.now();
  try {
    await test.run(binary);
    passed++;
    console.log(`  ok (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (error) {
    if (error instanceof Skip) {
      skipped++;
      console.log(`  skipped: ${error.message}`);
    } else {
      failed++;
      console.log(`  FAILED: ${error.stack ?? error}`);
    }
  }
}
console.log(`e2e: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
