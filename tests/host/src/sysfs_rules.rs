// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/sysfs_rules.rs`: the kernel's `kstrtoul(s, 0)` as NEC's stores use it,
//! VEOS's `os_state` transitions, VE1's `ve_state` with `jiffies` and the sensors, NEC's pid-list
//! format.

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

#[test]
fn ve_state_moves_as_necs_table() {
    use VeState::*;
    let all = [Uninitialized, Online, Offline, Maintenance, Unavailable];
    for from in all {
        for to in all {
            let want = match to {
                Uninitialized => matches!(from, Maintenance | Unavailable),
                Online | Maintenance => from == Offline,
                Offline | Unavailable => true,
            };
            assert_eq!(from.may_become(to), want, "{from:?} -> {to:?}");
        }
    }
    for (v, s) in all.iter().enumerate() {
        assert_eq!(VeState::from_u64(v as u64), Some(*s));
        assert_eq!(*s as usize, v);
    }
    assert_eq!(VeState::from_u64(5), None);
    assert_eq!(VeState::from_u64(u64::MAX), None);
}

#[test]
fn ve_state_side_effects_and_jiffies() {
    let mut m = Ve1Management::new();
    assert_eq!(m.state(), VeState::Uninitialized);
    assert_eq!(m.jiffies(1000), 0);
    // MMM's path at start: UNINITIALIZED -> ONLINE is refused, -> OFFLINE -> ONLINE is not.
    assert_eq!(m.set_state(VeState::Online, 10), Err(Refused));
    assert_eq!(m.state(), VeState::Uninitialized);
    m.set_state(VeState::Offline, 20).unwrap();
    assert_eq!(m.jiffies(30), 0);
    m.set_state(VeState::Online, 100).unwrap();
    assert_eq!(m.jiffies(100), 0);
    assert_eq!(m.jiffies(350), 250);
    // A refused store changes nothing (ONLINE -> ONLINE would restart the clock).
    assert_eq!(m.set_state(VeState::Online, 200), Err(Refused));
    assert_eq!(m.set_state(VeState::Maintenance, 200), Err(Refused));
    assert_eq!(m.jiffies(350), 250);
    // UNAVAILABLE keeps the online time (NEC touches it only on ONLINE and OFFLINE).
    m.set_state(VeState::Unavailable, 400).unwrap();
    assert_eq!(m.jiffies(450), 350);
    m.set_state(VeState::Uninitialized, 460).unwrap();
    assert_eq!(m.jiffies(470), 370);
    m.set_state(VeState::Offline, 500).unwrap();
    assert_eq!(m.jiffies(600), 0);
    m.set_state(VeState::Maintenance, 610).unwrap();
    m.set_state(VeState::Offline, 620).unwrap();
    m.set_state(VeState::Offline, 630).unwrap();
    m.set_state(VeState::Online, 700).unwrap();
    assert_eq!(m.jiffies(701), 1);
    // Across a wrap of the counter: NEC's unsigned difference.
    let mut w = Ve1Management::new();
    w.set_state(VeState::Offline, 0).unwrap();
    w.set_state(VeState::Online, u64::MAX - 4).unwrap();
    assert_eq!(w.jiffies(5), 10);
}

#[test]
fn sensors_are_gated_by_ve_state() {
    let mut m = Ve1Management::new();
    // Not ONLINE: EIO before the input is even looked at.
    assert_eq!(m.show_sensor(0), Err(SensorError::NotOnline));
    assert_eq!(m.store_sensor(0, "5"), Err(SensorError::NotOnline));
    assert_eq!(m.store_sensor(0, "junk"), Err(SensorError::NotOnline));
    m.set_state(VeState::Offline, 0).unwrap();
    m.set_state(VeState::Online, 1).unwrap();
    // Unset after ONLINE, until written.
    for s in 0..crate::sensors::VE1_SENSORS {
        assert_eq!(m.show_sensor(s), Err(SensorError::Unset), "sensor_{s}");
    }
    m.store_sensor(0, "10\n").unwrap();
    assert_eq!(m.show_sensor(0), Ok(5000));
    m.store_sensor(29, "0x708").unwrap();
    assert_eq!(m.show_sensor(29), Ok(3000));
    assert_eq!(m.show_sensor(1), Err(SensorError::Unset));
    // The low 16 bits are kept; all ones is unset again.
    m.store_sensor(37, "0x12345").unwrap();
    assert_eq!(m.show_sensor(37), Ok(0x2345));
    m.store_sensor(37, "0x1ffff").unwrap();
    assert_eq!(m.show_sensor(37), Err(SensorError::Unset));
    m.store_sensor(37, "65534").unwrap();
    assert_eq!(m.show_sensor(37), Ok(65534));
    // kstrtoul's errors, and a number beyond 64 bits, are all EINVAL.
    for bad in ["", "x", "-1", "1 ", "18446744073709551616"] {
        assert_eq!(m.store_sensor(3, bad), Err(SensorError::Invalid), "{bad:?}");
    }
    assert_eq!(m.store_sensor(38, "1"), Err(SensorError::Invalid));
    assert_eq!(m.show_sensor(38), Err(SensorError::Invalid));
    // Leaving ONLINE gates them again; coming back marks them unset.
    m.set_state(VeState::Unavailable, 2).unwrap();
    assert_eq!(m.show_sensor(0), Err(SensorError::NotOnline));
    assert_eq!(m.store_sensor(0, "1"), Err(SensorError::NotOnline));
    m.set_state(VeState::Offline, 3).unwrap();
    m.set_state(VeState::Online, 4).unwrap();
    assert_eq!(m.show_sensor(0), Err(SensorError::Unset));
    assert_eq!(m.show_sensor(29), Err(SensorError::Unset));
}

/// VE3's `ve_state` table (NEC's `sysfs_ve3.c`): AVAILABLE from anything, MAINTENANCE only from
/// AVAILABLE, UNAVAILABLE from anything but itself; 0 and 2 are not states.
#[test]
fn ve3_state_moves_along_necs_table() {
    use Ve3State::*;
    let all = [Available, Maintenance, Unavailable];
    let allowed = [
        (Available, Available),
        (Maintenance, Available),
        (Unavailable, Available),
        (Available, Maintenance),
        (Available, Unavailable),
        (Maintenance, Unavailable),
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
    assert_eq!(Ve3State::from_u64(1), Some(Available));
    assert_eq!(Ve3State::from_u64(3), Some(Maintenance));
    assert_eq!(Ve3State::from_u64(4), Some(Unavailable));
    for bad in [0, 2, 5, u64::MAX] {
        assert_eq!(Ve3State::from_u64(bad), None);
    }
}

/// VE3's sensors: unset at probe (EAGAIN), 1..=42 only, any state, 32 bits kept and shown raw;
/// AVAILABLE from UNAVAILABLE marks them unset again, from MAINTENANCE not; `jiffies` counts from
/// the last store of AVAILABLE.
#[test]
fn ve3_management() {
    let mut m = Ve3Management::new();
    assert_eq!(m.state(), Ve3State::Available);
    assert_eq!(m.jiffies(1000), 0);
    assert_eq!(m.show_sensor(1), Err(SensorError::Unset));
    for bad in [0, 43] {
        assert_eq!(m.show_sensor(bad), Err(SensorError::Invalid));
        assert_eq!(m.store_sensor(bad, "1"), Err(SensorError::Invalid));
    }
    assert_eq!(m.store_sensor(1, "0x1_0000"), Err(SensorError::Invalid));
    assert_eq!(m.store_sensor(1, "0x123456789"), Ok(()));
    assert_eq!(m.show_sensor(1), Ok(0x2345_6789));
    assert_eq!(m.store_sensor(42, "7\n"), Ok(()));
    assert_eq!(m.show_sensor(42), Ok(7));
    assert_eq!(m.set_state(Ve3State::Maintenance, 10), Ok(()));
    assert_eq!(m.set_state(Ve3State::Maintenance, 11), Err(Refused));
    assert_eq!(m.store_sensor(2, "5"), Ok(()));
    assert_eq!(m.set_state(Ve3State::Available, 100), Ok(()));
    assert_eq!(m.jiffies(150), 50);
    assert_eq!(m.show_sensor(2), Ok(5));
    assert_eq!(m.set_state(Ve3State::Unavailable, 200), Ok(()));
    assert_eq!(m.set_state(Ve3State::Unavailable, 201), Err(Refused));
    assert_eq!(m.set_state(Ve3State::Maintenance, 202), Err(Refused));
    assert_eq!(m.show_sensor(2), Ok(5));
    assert_eq!(m.set_state(Ve3State::Available, 300), Ok(()));
    assert_eq!(m.show_sensor(2), Err(SensorError::Unset));
    assert_eq!(m.jiffies(301), 1);
    // All ones in the low 32 bits is the unset marker again.
    assert_eq!(m.store_sensor(3, "0x1ffffffff"), Ok(()));
    assert_eq!(m.show_sensor(3), Err(SensorError::Unset));
}
