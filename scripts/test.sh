#!/usr/bin/env bash
# The one test command: from a fresh Debian machine (as root, or with sudo) to a passing suite.
# Installs the real servers the integration tests use, the npm dependencies, then runs `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
npm ci --no-audit --no-fund
npm test
