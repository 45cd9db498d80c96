#!/bin/sh
# Builds the CLI of one commit (default: the one named in bench/speed/BEFORE) into .run/before with tsc, so
# bench:speed and bench:scale can run "before" and "after" side by side in one run.
set -eu
cd "$(dirname "$0")/../.."
ref="${1:-$(cat bench/speed/BEFORE)}"
rm -rf .run/before && mkdir -p .run/before
git archive "$ref" src tsconfig.json tsconfig.build.json package.json | tar -x -C .run/before
ln -sfn "$PWD/node_modules" .run/before/node_modules
(cd .run/before && ../../node_modules/.bin/tsc -p tsconfig.build.json)
echo "built $ref into .run/before/dist"
