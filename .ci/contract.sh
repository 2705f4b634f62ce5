#!/usr/bin/env bash
# The API contract test: schemathesis, driven by the committed openapi/sluice.json, against a
# running server, as an outside client. Every response must match its documented status, content
# type, headers and schema; no schema-valid request may be refused (400/413/415/422), and no
# schema-invalid one accepted (negative_data_rejection): the document is exact both ways.
#
# Usage: .ci/contract.sh BASE_URL TOKEN   (TOKEN: an admin bearer token for BASE_URL)
# Run by crates/sluice-control/tests/contract.rs, which starts the server on a fresh database.
# Installs schemathesis (pinned) into a cached venv under ~/.cache/sluice/ when missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
url=$1
token=$2

ST_VERSION=4.32.5
venv="${SLUICE_ST_VENV:-$HOME/.cache/sluice/st-venv}"
if ! "$venv/bin/st" --version 2>/dev/null | grep -qF "$ST_VERSION"; then
  echo "installing schemathesis $ST_VERSION into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

# Hooks: the one documented rule JSON Schema cannot state (see .ci/contract_hooks.py).
export SCHEMATHESIS_HOOKS="$root/.ci/contract_hooks.py"
# schemathesis keeps its cache (failures to `st replay`) in ./.schemathesis: not in the repository.
work="${SLUICE_CONTRACT_DIR:-$HOME/.cache/sluice/contract}"
mkdir -p "$work"
cd "$work"
# A fixed seed and a bounded budget (about a minute on two cores); every phase runs, the
# stateful one following the document's links from create answers to the routes taking ids.
exec "$venv/bin/st" run "$root/openapi/sluice.json" \
  --url "$url" -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,positive_data_acceptance,negative_data_rejection,response_headers_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --seed "${SLUICE_CONTRACT_SEED:-12}" --max-examples "${SLUICE_CONTRACT_EXAMPLES:-50}" \
  --workers 1 --generation-database none --no-color
