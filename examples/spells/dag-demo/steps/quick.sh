#!/bin/sh
set -eu
echo quick >> work/state.txt
echo "quick branch done"
