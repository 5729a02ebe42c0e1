#!/bin/sh
# policy-server.sh - a Postfix policy server for spawn: reads name=value
# requests (each ended by an empty line) on stdin and rejects every one.
# One connection may carry many requests; EOF ends it.
while IFS= read -r line; do
    case $line in
        '') printf 'action=REJECT 5.7.1 fixture policy says no\n\n' ;;
    esac
done
