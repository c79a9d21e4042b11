// SPDX-License-Identifier: GPL-2.0

//! What NEC's sysfs attributes accept and how they print (docs/nec-abi.md, "sysfs"), as plain
//! rules: the number parser NEC's stores use (`kstrtoul(buf, 0, ...)`), VEOS's `os_state`
//! transitions, and the pid-list format of `task_id_all`/`task_id_dead`.
//!
//! `core` only: compiled into the module and unit-tested on the host (`tests/host`).

use core::fmt;

use crate::uapi;

/// Why a number written to an attribute was refused: the errno `kstrtoul` returns.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not a number (`EINVAL`).
    Invalid,
    /// Does not fit an unsigned long (`ERANGE`).
    Range,
}

/// Parses what user space wrote to an attribute as the kernel's `kstrtoul(s, 0, ...)` does: one
/// optional `+`, then `0x`/`0X` and hex digits, `0` and octal digits, or decimal digits; one
/// trailing newline is accepted, nothing else.
pub fn parse_ulong(s: &str) -> Result<u64, ParseError> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return Err(ParseError::Invalid);
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix).ok_or(ParseError::Invalid)?;
        v = v
            .checked_mul(radix.into())
            .and_then(|v| v.checked_add(d.into()))
            .ok_or(ParseError::Range)?;
    }
    Ok(v)
}

/// VEOS's state as it reports it through `os_state`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum OsState {
    /// VEOS serves the VE.
    Online = uapi::OS_ST_ONLINE,
    /// No VEOS (the state at probe).
    Offline = uapi::OS_ST_OFFLINE,
    /// VEOS is starting.
    Initializing = uapi::OS_ST_INITIALIZING,
    /// VEOS is stopping.
    Terminating = uapi::OS_ST_TERMINATING,
}

impl OsState {
    /// The state numbered `v`, if any.
    pub const fn from_u64(v: u64) -> Option<Self> {
        const ONLINE: u64 = uapi::OS_ST_ONLINE as u64;
        const OFFLINE: u64 = uapi::OS_ST_OFFLINE as u64;
        const INITIALIZING: u64 = uapi::OS_ST_INITIALIZING as u64;
        const TERMINATING: u64 = uapi::OS_ST_TERMINATING as u64;
        match v {
            ONLINE => Some(Self::Online),
            OFFLINE => Some(Self::Offline),
            INITIALIZING => Some(Self::Initializing),
            TERMINATING => Some(Self::Terminating),
            _ => None,
        }
    }

    /// Whether VEOS may move the state from `self` to `to`, as NEC's driver allows it: OFFLINE ->
    /// INITIALIZING -> ONLINE -> TERMINATING -> OFFLINE, and INITIALIZING -> OFFLINE (a start
    /// that failed).
    pub const fn may_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Initializing, Self::Online)
                | (Self::Initializing | Self::Terminating, Self::Offline)
                | (Self::Offline, Self::Initializing)
                | (Self::Online, Self::Terminating)
        )
    }
}

/// Writes `pids` as NEC's pid lists read: each pid in decimal followed by one space, then one
/// newline; an empty list is a single space and newline. Stops before a pid that would not fit in
/// `room` bytes (with the newline), as NEC stops before a page would overflow.
pub fn write_pid_list(
    out: &mut impl fmt::Write,
    pids: impl IntoIterator<Item = i32>,
    mut room: usize,
) -> fmt::Result {
    let mut any = false;
    // The final newline.
    room = room.saturating_sub(1);
    for pid in pids {
        let len = decimal_len(pid) + 1;
        if len > room {
            break;
        }
        room -= len;
        write!(out, "{pid} ")?;
        any = true;
    }
    if !any {
        out.write_char(' ')?;
    }
    out.write_char('\n')
}

fn decimal_len(v: i32) -> usize {
    let mut n = if v < 0 { 2 } else { 1 };
    let mut v = v.unsigned_abs();
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}
