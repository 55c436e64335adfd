#!/usr/bin/env bash
# Creates bench/.venv (git-ignored) with the peers' pinned packages (bench/peers/requirements.txt).
#   bash bench/peers/setup.sh            # PYTHON=python3 by default
# Idempotent: the venv records the sha256 of the requirements file plus the Python version it was
# built with; when both match, nothing is done. When either changed, the venv is rebuilt from
# scratch, so it never holds packages of an older requirements file.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
VENV=bench/.venv
REQUIREMENTS=bench/peers/requirements.txt
STAMP=$VENV/.requirements.sha256

want=$( { sha256sum "$REQUIREMENTS" | cut -d' ' -f1; "$PYTHON" --version 2>&1; } | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "bench/.venv is up to date ($REQUIREMENTS, $("$PYTHON" --version 2>&1))"
  exit 0
fi

echo "creating bench/.venv with $("$PYTHON" --version 2>&1) and $REQUIREMENTS"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS"
# Fail here, not in the middle of the benchmark, if a package installed but does not import.
"$VENV/bin/python" -c "import sklearn, scipy, numpy, joblib, fastapi, uvicorn, uvloop, httptools, fasttext"
echo "$want" >"$STAMP"
echo "bench/.venv ready: $("$VENV/bin/python" -m pip freeze | wc -l) packages"
