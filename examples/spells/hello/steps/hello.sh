#!/bin/sh
# Reads the input file named by INPUT_JSON and greets the caller.
set -eu
name=$(sed -n 's/.*"name" *: *"\([^"]*\)".*/\1/p' "$INPUT_JSON")
printf 'hello, %s\n' "$name"
