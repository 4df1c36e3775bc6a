#!/bin/sh
# Compensation of "prepare": removes the working folder.
set -eu
rm -rf work
echo "removed work/"
