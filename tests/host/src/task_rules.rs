// SPDX-License-Identifier: GPL-2.0

//! NEC's task state table (docs/nec-abi.md, "Tasks"), cell by cell: each command and a close,
//! applied to a task in each state.

use crate::task_rules::{
    Deletion, Refusal, Release,
    TaskState::{self, *},
};

const ALL: [TaskState; 5] = [New, Ready, Deleted, Released, Assigned];

#[test]
fn states_are_numbered_as_necs() {
    let numbers: Vec<u32> = ALL.iter().map(|&s| s as u32).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4]);
}

#[test]
fn create_readies_only_a_new_task() {
    let after: Vec<TaskState> = ALL.iter().map(|s| s.on_create()).collect();
    assert_eq!(after, [Ready, Ready, Deleted, Released, Assigned]);
}

#[test]
fn delete_follows_necs_table() {
    let after: Vec<_> = ALL.iter().map(|s| s.on_delete()).collect();
    assert_eq!(
        after,
        [
            Ok(Deletion::Unchanged),
            Ok(Deletion::Deleted),
            Ok(Deletion::Unchanged),
            Ok(Deletion::LetCloserGo),
            Err(Refusal::Again),
        ]
    );
}

#[test]
fn delete_all_deletes_ready_and_assigned_and_frees_closers() {
    let after: Vec<_> = ALL.iter().map(|s| s.on_delete_all()).collect();
    assert_eq!(
        after,
        [
            Deletion::Unchanged,
            Deletion::Deleted,
            Deletion::Unchanged,
            Deletion::LetCloserGo,
            Deletion::Deleted,
        ]
    );
}

#[test]
fn revive_readies_a_deleted_task_and_refuses_the_rest() {
    let after: Vec<_> = ALL.iter().map(|s| s.on_revive()).collect();
    assert_eq!(
        after,
        [
            Err(Refusal::Invalid),
            Ok(Ready),
            Ok(Ready),
            Err(Refusal::Invalid),
            Err(Refusal::Invalid),
        ]
    );
}

#[test]
fn close_waits_for_veos_only_for_tasks_it_owns() {
    let after: Vec<_> = ALL.iter().map(|s| s.on_release()).collect();
    assert_eq!(
        after,
        [
            Release::FreeNow,
            Release::WaitForVeos,
            Release::FreeNow,
            Release::WaitForVeos,
            Release::WaitForVeos,
        ]
    );
}

#[test]
fn sysfs_lists_every_task_but_new_ones_and_released_ones_as_dead() {
    let all: Vec<bool> = ALL.iter().map(|s| s.in_task_id_all()).collect();
    let dead: Vec<bool> = ALL.iter().map(|s| s.in_task_id_dead()).collect();
    assert_eq!(all, [false, true, true, true, true]);
    assert_eq!(dead, [false, false, false, true, false]);
}

#[test]
fn a_program_lifecycle_ends_deleted_and_revives() {
    // VEOS: CREATE, (run), DELETE at exit; execve: DELETE then REVIVE.
    let s = New.on_create();
    assert_eq!(s, Ready);
    assert_eq!(s.on_delete(), Ok(Deletion::Deleted));
    assert_eq!(Deleted.on_revive(), Ok(Ready));
    assert_eq!(Deleted.on_release(), Release::FreeNow);
}

#[test]
fn assign_checks_in_necs_order() {
    // A busy core first, whatever the task.
    for s in ALL {
        assert_eq!(s.on_assign(true, false), Err(Refusal::Busy));
    }
    // Then a saved exception status or a closed file.
    assert_eq!(Ready.on_assign(false, true), Err(Refusal::Again));
    assert_eq!(Released.on_assign(false, false), Err(Refusal::Again));
    // Then the state.
    let after: Vec<_> = ALL.iter().map(|s| s.on_assign(false, false)).collect();
    assert_eq!(
        after,
        [
            Err(Refusal::NotReady),
            Ok(Assigned),
            Err(Refusal::NotReady),
            Err(Refusal::Again),
            Err(Refusal::NotReady),
        ]
    );
}

#[test]
fn unassign_keeps_a_released_task_released() {
    assert_eq!(Assigned.on_unassign(), Ready);
    assert_eq!(Released.on_unassign(), Released);
}

#[test]
fn wait_exception_waits_for_ready_and_assigned_tasks_only() {
    let may: Vec<bool> = ALL.iter().map(|s| s.may_wait()).collect();
    assert_eq!(may, [false, true, false, false, true]);
}

#[test]
fn unassign_decides_from_the_core_in_necs_order() {
    use crate::task_rules::Unassign;
    assert_eq!(Unassign::decide(true, 5, true), Err(Refusal::Busy));
    assert_eq!(Unassign::decide(false, 1, true), Ok(Unassign::SaveExs));
    assert_eq!(Unassign::decide(false, 0, true), Err(Refusal::Again));
    assert_eq!(Unassign::decide(false, 0, false), Ok(Unassign::Off));
}
