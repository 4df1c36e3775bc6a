#!/bin/sh
# Creates the working folder the other steps write into.
set -eu
mkdir -p work
echo prepared > work/state.txt
echo "prepared work/"
