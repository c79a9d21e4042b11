#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "veos": the card as VEOS 3.5 and its pseudo processes use it: one task per open file
# keyed by the opening thread (EBUSY for a second open), CREATE/DELETE/REVIVE/DELETE_ALL_TASK
# along NEC's state table, task_id_all and task_id_dead (POLLPRI), a close of a task VEOS owns
# waiting for VEOS (a killed pseudo process stays unreaped until DELETE_ALL_TASK; unbind lets it
# go), HOST_PID across pid namespaces, RST_INTR_COUNT and RST_EXSRAR_MEM, and VEOS's start-up and
# shutdown replayed call by call.
# harness-emulator-args:
# harness-timeout: 300
exec /bin/ve_veos_test
