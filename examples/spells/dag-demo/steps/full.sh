#!/bin/sh
set -eu
echo full >> work/state.txt
echo "full branch done"
