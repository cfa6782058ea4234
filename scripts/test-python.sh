#!/usr/bin/env bash
# The Python client's checks (npm run test:python): mypy --strict on the package, then its
# pytest suite against real server processes built from this tree. Debian's python3 by
# default (PYTHON overrides it); it needs python3-websockets, python3-pytest and python3-mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-/usr/bin/python3}"

npm run --silent build:server
"$python" -m mypy --strict client/python/blackboard
status=0
"$python" -m pytest client/python/tests "$@" || status=$?
if [ "$status" -eq 5 ]; then
  # pytest's "no tests collected" must fail loudly, never pass as an empty run.
  echo "test:python: pytest collected no tests" >&2
fi
exit "$status"
