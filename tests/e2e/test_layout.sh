#!/bin/bash
# The include rule between popek's folders (scripts/check_layout.sh).
cd "$(dirname "$0")/../.." && exec scripts/check_layout.sh
