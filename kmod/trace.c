// SPDX-License-Identifier: GPL-2.0
/* The mcai:* tracepoints, defined once. */
#define CREATE_TRACE_POINTS
#include "trace.h"
