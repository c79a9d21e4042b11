#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The project's main job (README): on a fresh Debian 12 machine, set up and build everything,
# boot the test VM with the VE engine emulator, load ve_drv and print the card's info and the
# transport round trip, then run the pinning micro-benchmark. The DMA benchmark will replace the
# body of this job.
source "$(dirname "$0")/lib.sh"
cd "$VE_ROOT"
build_all
phase "VM: ve_drv on the emulator" run_guest_suites --console tests info
phase "VM: DMA bandwidth, kernel manager against the engine" run_guest_suites --console tests dmabench
phase "VM: pinning micro-benchmark" run_guest_suites --console tests pinbench
phase_report
