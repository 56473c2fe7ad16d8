import { globalIgnores } from 'eslint/config';
import { config } from '@n8n/node-cli/eslint';

// n8n's community-node rules (n8n Cloud rules included) for everything that ships: nodes/,
// credentials/, package.json. test/ and scripts/ are development code that runs in Node, not in
// n8n (child processes, timers, fake secrets), and never reach the package, so `n8n-node lint`
// (which lints ".") leaves them out — as n8n's own scanner does (it lints only
// package.json and {nodes,credentials}/**). Changing this file needs "strict": false in
// package.json; the Cloud rules stay on through `config`, and scripts/scan-package.mjs runs the
// scanner's rule set on the packed tarball.
export default [...config, globalIgnores(['test/**', 'scripts/**', 'coverage/**', '.tmp/**'])];
