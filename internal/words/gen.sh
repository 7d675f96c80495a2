#!/bin/sh
# Regenerates wordlist.txt from Debian's wamerican package (SCOWL; see
# NOTICE-SCOWL.txt for its licence):
#
#   apt-get install -y wamerican && sh internal/words/gen.sh
#
# Kept: lower-case ASCII words of 3 to 8 letters (which excludes
# apostrophes, capitals and accents), deduplicated, sorted in byte order.
set -eu
cd "$(dirname "$0")"
grep -E '^[a-z]{3,8}$' /usr/share/dict/words | LC_ALL=C sort -u > wordlist.txt
wc -l wordlist.txt
