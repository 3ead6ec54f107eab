#!/usr/bin/env bash
# Rewrites the committed schema fixtures (Tests/QuarryTests/Fixtures/*/data.mdb) from
# Tests/QuarryTests/SchemaFixtures.swift. Run only with a new schema version: the fixture test
# asserts the bytes of the fixtures as committed.
set -euo pipefail
cd "$(dirname "$0")/.."
QUARRY_WRITE_SCHEMA_FIXTURES=1 swift test --filter 'SchemaFixtureTests/rebuildingMatchesTheCommittedFixtures'
ls -l Tests/QuarryTests/Fixtures/*/data.mdb
