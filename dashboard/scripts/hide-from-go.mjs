// Some npm packages ship .go files (flatted does). A go.mod inside
// node_modules makes it a module of its own, so the Go tool's `./...`
// skips it and `go vet`/`go test` never walk it.
import { writeFileSync, existsSync } from 'node:fs';

if (existsSync('node_modules')) {
  writeFileSync('node_modules/go.mod', 'module chatlab/dashboard/node_modules\n');
}
