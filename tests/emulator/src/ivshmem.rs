// SPDX-License-Identifier: GPL-2.0

//! The ivshmem server protocol, as QEMU's `ivshmem-doorbell` client expects it
//! (QEMU's `docs/specs/ivshmem-spec.rst`; here `docs/emulator.md`, "The server protocol").
//!
//! Every message is one little-endian `i64`, sent with its own `sendmsg`, carrying at most one fd.
//! On accept the server sends: the protocol version (0); the client's peer id; `-1` with the
//! shared-memory fd (BAR2); for every other peer, its id once per vector with an eventfd (the
//! client writes those to ring that peer's doorbell); and the client's own id once per vector with
//! an eventfd (the server writes those to raise the client's MSI-X vectors).

use std::{
    io, mem,
    os::{
        fd::{
            AsRawFd,
            OwnedFd, //
        },
        unix::net::UnixStream,
    },
};

use crate::sys::{
    self,
    cvt, //
};

/// ivshmem protocol version.
pub const PROTOCOL_VERSION: i64 = 0;
/// Peer id of the emulator (the doorbell target).
pub const EMU_PEER: u16 = 0;
/// Peer id given to QEMU (the guest's IVPosition).
pub const GUEST_PEER: u16 = 1;

/// Sends one protocol message, with `fd` attached as `SCM_RIGHTS` if given.
pub fn send_msg(sock: &UnixStream, value: i64, fd: Option<&OwnedFd>) -> io::Result<()> {
    let mut payload = value.to_le_bytes();
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    // Room for one cmsg carrying one int, aligned as cmsghdr requires.
    let mut cbuf = [0u64; 4];
    // SAFETY: zeroed msghdr is a valid "no name, no control" header; fields are set below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        // SAFETY: CMSG_SPACE is a pure computation.
        let space = unsafe { libc::CMSG_SPACE(mem::size_of::<libc::c_int>() as u32) } as usize;
        assert!(space <= mem::size_of_val(&cbuf));
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg_control points to `space` writable, aligned bytes, enough for one cmsghdr
        // with one int of payload, so CMSG_FIRSTHDR is non-null and CMSG_DATA is in bounds.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<libc::c_int>() as u32) as usize;
            libc::CMSG_DATA(c)
                .cast::<libc::c_int>()
                .write_unaligned(fd.as_raw_fd());
        }
    }
    // SAFETY: `msg` and everything it points to are live for the call.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n as usize != payload.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short ivshmem message",
        ));
    }
    Ok(())
}

/// The eventfds of one connection.
pub struct Peers {
    /// Written by QEMU when the guest rings `(EMU_PEER << 16) | v`.
    pub doorbells: Vec<OwnedFd>,
    /// Written by the emulator to raise the guest's MSI-X vector `v`.
    pub guest_irqs: Vec<OwnedFd>,
}

/// Runs the set-up exchange with a freshly connected QEMU: `doorbell_vectors` eventfds for the
/// emulator's peer and `guest_vectors` for the guest's.
pub fn handshake(
    sock: &UnixStream,
    shm: &OwnedFd,
    doorbell_vectors: u32,
    guest_vectors: u32,
) -> io::Result<Peers> {
    send_msg(sock, PROTOCOL_VERSION, None)?;
    send_msg(sock, GUEST_PEER.into(), None)?;
    send_msg(sock, -1, Some(shm))?;
    let mut doorbells = Vec::new();
    for _ in 0..doorbell_vectors {
        let efd = sys::eventfd()?;
        send_msg(sock, EMU_PEER.into(), Some(&efd))?;
        doorbells.push(efd);
    }
    let mut guest_irqs = Vec::new();
    for _ in 0..guest_vectors {
        let efd = sys::eventfd()?;
        send_msg(sock, GUEST_PEER.into(), Some(&efd))?;
        guest_irqs.push(efd);
    }
    Ok(Peers {
        doorbells,
        guest_irqs,
    })
}

/// Reads and returns an eventfd's counter (how many writes it coalesced), 0 if none is pending.
pub fn eventfd_take(fd: &OwnedFd) -> io::Result<u64> {
    let mut v = 0u64;
    // SAFETY: reads 8 bytes into `v`.
    let n = unsafe { libc::read(fd.as_raw_fd(), std::ptr::from_mut(&mut v).cast(), 8) };
    if n == 8 {
        Ok(v)
    } else if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock {
        Ok(0)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Adds 1 to an eventfd (raises a guest vector).
pub fn eventfd_signal(fd: &OwnedFd) -> io::Result<()> {
    let v = 1u64;
    // SAFETY: writes 8 bytes from `v`.
    let n = unsafe { libc::write(fd.as_raw_fd(), std::ptr::from_ref(&v).cast(), 8) };
    cvt(if n == 8 { 0 } else { -1 }).map(|_| ())
}
