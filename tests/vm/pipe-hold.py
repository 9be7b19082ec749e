#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Guest helper: create the detector -> classifier pipeline "vib-chain"
# (MCAI_IOC_PIPELINE_CREATE, struct mcai_pipeline_create of uapi/mcai.h,
# 112 bytes) and hold it: a pipeline lives as long as the file that made
# it.  Writes "ok" or "error ERRNO" to READY, then holds the file until
# READY.done exists.
#
#   pipe-hold.py DETECTOR_ID CLASSIFIER_ID READY [ESCALATE_BELOW]
import fcntl
import os
import struct
import sys
import time

det, cls, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
esc = int(sys.argv[4]) if len(sys.argv) > 4 else -129   # -129: never
fmt = "<II32sII8I8Hiiii"
size = struct.calcsize(fmt)
req = (3 << 30) | (size << 16) | (0xE9 << 8) | 0x13
buf = bytearray(struct.pack(fmt, size, 0, b"vib-chain", 1, 2,
                            det, cls, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 0, 1, esc, 0, 0))
fd = os.open("/dev/mcai", os.O_RDWR)
try:
    fcntl.ioctl(fd, req, buf)
except OSError as e:
    open(ready, "w").write("error %d\n" % e.errno)
    sys.exit(1)
open(ready, "w").write("ok\n")
while not os.path.exists(ready + ".done"):
    time.sleep(0.1)
os.close(fd)
