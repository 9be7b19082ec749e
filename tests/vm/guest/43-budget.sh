#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Energy budgets on the synchronous and pipeline paths.
set -u
R=${MCAI_ROOT:?}
. "$R/tests/vm/lib.sh"
insmod "$MCAI_KO" || exit 1
"$R/build/vm/budget_check"
ret=$?
rmmod mcai || ret=1
exit $ret
