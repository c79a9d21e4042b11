#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "program": VE programs run as VEOS and its pseudo processes run them: CREATE_TASK,
# ASSIGN_TASK, WAIT_EXCEPTION woken by the emulated core's exception with its EXS, UNASSIGN_TASK
# (an uncollected exception saved for the next wait), DELETE_TASK; tasks on every core at once;
# NEC's errnos; a pseudo process killed on its core; DELETE_ALL_TASK with tasks on cores; unbind
# while a task waits.
# harness-emulator-args:
# harness-timeout: 300
exec /bin/ve_program_test
