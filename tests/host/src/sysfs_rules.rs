// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/sysfs_rules.rs`: the kernel's `kstrtoul(s, 0)` as NEC's stores use it,
//! VEOS's `os_state` transitions, NEC's pid-list format.

use crate::sysfs_rules::*;

#[test]
fn numbers_parse_as_kstrtoul_with_base_0() {
    assert_eq!(parse_ulong("0"), Ok(0));
    assert_eq!(parse_ulong("2"), Ok(2));
    assert_eq!(parse_ulong("2\n"), Ok(2));
    assert_eq!(parse_ulong("+3"), Ok(3));
    assert_eq!(parse_ulong("0x1f"), Ok(31));
    assert_eq!(parse_ulong("0X1F\n"), Ok(31));
    assert_eq!(parse_ulong("010"), Ok(8));
    assert_eq!(parse_ulong("18446744073709551615"), Ok(u64::MAX));
    assert_eq!(parse_ulong("18446744073709551616"), Err(ParseError::Range));
    for bad in [
        "", "\n", "-1", " 1", "1 ", "1\n\n", "0x", "08", "1a", "+", "0x\n", "++1",
    ] {
        assert_eq!(parse_ulong(bad), Err(ParseError::Invalid), "{bad:?}");
    }
}

#[test]
fn os_state_moves_as_veos_moves_it() {
    use OsState::*;
    let all = [Online, Offline, Initializing, Terminating];
    let allowed = [
        (Offline, Initializing),
        (Initializing, Online),
        (Initializing, Offline),
        (Online, Terminating),
        (Terminating, Offline),
    ];
    for from in all {
        for to in all {
            assert_eq!(
                from.may_become(to),
                allowed.contains(&(from, to)),
                "{from:?} -> {to:?}"
            );
        }
    }
    for (v, s) in all.iter().enumerate() {
        assert_eq!(OsState::from_u64(*s as u64), Some(*s));
        assert_eq!(*s as usize, [0, 1, 2, 3][v]);
    }
    assert_eq!(OsState::from_u64(4), None);
}

#[test]
fn pid_lists_print_as_necs() {
    let list = |pids: &[i32], room: usize| {
        let mut s = String::new();
        write_pid_list(&mut s, pids.iter().copied(), room).unwrap();
        s
    };
    assert_eq!(list(&[], 4096), " \n");
    assert_eq!(list(&[1234, 5678], 4096), "1234 5678 \n");
    // "1234 " fits in 7 bytes with the newline; "5678 " does not.
    assert_eq!(list(&[1234, 5678], 7), "1234 \n");
    assert_eq!(list(&[1234, 5678], 11), "1234 5678 \n");
    assert_eq!(list(&[-1], 4096), "-1 \n");
}
