// Before packing: the package's README and LICENSE are the repository's, copied so that there is
// one of each to keep true (the copies are not committed).
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const file of ['README.md', 'LICENSE']) {
  copyFileSync(join(pkg, '..', '..', file), join(pkg, file));
}
