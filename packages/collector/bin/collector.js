#!/usr/bin/env node
// npm links a package's bins when it installs, before `npm run build` has written dist/, and skips a
// bin whose file is missing; so the bin is this file, which is in the repository, and it runs the built one:
// the bundle `npm run build` makes of dist/bin/collector.js (scripts/bundle.mjs says why).
import '../dist/bundle/bin/collector.js';
