#!/bin/sh
# MISC_CHECK of the checker chaos exerciser: backend N is healthy for MISC while
# its flag file exists (the exerciser removes it to fail the check).
[ -f "/run/chaos/flag/$1" ]
