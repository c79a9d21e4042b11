// SPDX-License-Identifier: GPL-2.0

//! The files of a device node: what they do ([`NodeFile`], the safe side) and their
//! `file_operations` ([`NodeVTable`]), built as `rust/kernel/miscdevice.rs` builds its own: a
//! table that is a Rust `const` per file type, whose entries are `unsafe extern "C"` functions
//! generic over that type, and the file's private data a [`ForeignOwnable`]. 7.3's
//! `kernel::miscdevice` has no `poll` and no driver data that `open` reaches, and it cannot make
//! a device of a class of the driver's own; [`super::chardev`] registers these operations for a
//! char device instead.

use core::marker::PhantomData;

use kernel::{
    bindings,
    error::VTABLE_DEFAULT_ERROR,
    fs::File,
    mm::virt::VmaNew,
    module::this_module,
    prelude::*,
    sync::poll::PollTable,
    types::ForeignOwnable, //
};

use super::chardev::NodeInner;

/// What the open files of a [`super::chardev::CharNode`] do: the safe side of its file
/// operations.
#[vtable]
pub(crate) trait NodeFile: Sized {
    /// What an open file's private data holds.
    type Ptr: ForeignOwnable + Send + Sync;
    /// The node's driver data, handed to [`NodeFile::open`] and to its sysfs attributes.
    type Data: Send + Sync + 'static;

    /// A file is being opened on the node; the returned pointer becomes its private data, dropped
    /// when the file is released (its last reference gone).
    fn open(data: &Self::Data) -> Result<Self::Ptr>;

    /// An ioctl from a caller of the kernel's own word size, on `file`.
    fn ioctl(
        this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        file: &File,
        cmd: u32,
        arg: usize,
    ) -> Result<isize>;

    /// An ioctl from a 32-bit caller; `arg` is already widened as `compat_ptr()` widens a pointer.
    /// Without it, 32-bit callers get `ENOTTY` for every ioctl.
    fn compat_ioctl(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// An mmap of the file; `vma` is being set up. Without it, mmap fails (`ENODEV`).
    fn mmap(_this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>, _vma: &VmaNew) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `poll`: registers on what will signal readiness in `table`, returns the `EPOLL*` mask now.
    /// Without it, the file is always readable and writable (the VFS default).
    fn poll(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _table: PollTable<'_>,
    ) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The file operations of a [`super::chardev::CharNode<T>`].
///
/// The entries are typed with the bindings' `inode`, `file`, `vm_area_struct` and
/// `poll_table_struct`, as the kernel crate types its own: under kCFI (`CONFIG_CFI`) the type hash
/// checked at the VFS's indirect call is computed from the callee's signature.
pub(super) struct NodeVTable<T: NodeFile>(PhantomData<T>);

impl<T: NodeFile> NodeVTable<T> {
    pub(super) const VTABLE: bindings::file_operations = bindings::file_operations {
        owner: this_module::<T::OwnerModule>().as_ptr(),
        open: Some(Self::open),
        release: Some(Self::release),
        unlocked_ioctl: Some(Self::ioctl),
        compat_ioctl: if T::HAS_COMPAT_IOCTL {
            Some(Self::compat_ioctl)
        } else {
            None
        },
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        poll: if T::HAS_POLL { Some(Self::poll) } else { None },
        llseek: Some(bindings::noop_llseek),
        ..pin_init::zeroed()
    };

    /// `open`.
    ///
    /// # Safety
    ///
    /// `inode` and `file` are a file being opened by `chrdev_open()` through the `cdev` of a
    /// [`super::chardev::CharNode<T>`].
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: a file being opened, with its inode.
        let ret = unsafe { bindings::generic_file_open(inode, file) };
        if ret != 0 {
            return ret;
        }
        // SAFETY: the open call may read the inode.
        let cdev = unsafe { (*inode).__bindgen_anon_5.i_cdev };
        // SAFETY: `chrdev_open()` set `i_cdev` to the `cdev` being opened, which these file
        // operations only serve as the `cdev` field of a `NodeInner<T::Data>`; it holds a
        // reference to that `cdev` (and so, through its parent device, to the whole `NodeInner`)
        // for the life of the file.
        let data = unsafe { NodeInner::<T::Data>::data_of_cdev(cdev) };
        match T::open(data) {
            Ok(ptr) => {
                // SAFETY: the open call owns the private data. From here on it is `T::Ptr`,
                // borrowed by the other entries and reclaimed by `release`.
                unsafe { (*file).private_data = ptr.into_foreign() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// `release`: the last reference to the file is gone.
    ///
    /// # Safety
    ///
    /// Called once, for a file `open` opened.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: the release call owns the private data.
        let private = unsafe { (*file).private_data };
        // SAFETY: `open` stored a `T::Ptr` there (release follows only a successful open); it is
        // reclaimed exactly once, here, after every other entry of the file returned.
        drop(unsafe { T::Ptr::from_foreign(private) });
        0
    }

    /// The file's private data, borrowed for one call.
    ///
    /// # Safety
    ///
    /// `file` is a file `open` opened and `release` has not released; the borrow ends before the
    /// caller returns to the VFS.
    unsafe fn borrow<'a>(file: *mut bindings::file) -> <T::Ptr as ForeignOwnable>::Borrowed<'a> {
        // SAFETY: the file is open (caller's guarantee): its private data may be read.
        let private = unsafe { (*file).private_data };
        // SAFETY: `open` stored a `T::Ptr` there, and `release` (which reclaims it) cannot run
        // while the VFS holds the file for the caller's call.
        unsafe { T::Ptr::borrow(private) }
    }

    /// `unlocked_ioctl`.
    ///
    /// # Safety
    ///
    /// Called by the VFS on a file `open` opened, holding a reference for the call.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: an open file, held by the VFS for the call.
        let this = unsafe { Self::borrow(file) };
        // SAFETY: the file is valid for the call and no `fdget_pos` region is active on it here.
        let f = unsafe { File::from_raw_file(file) };
        match T::ioctl(this, f, cmd, arg) {
            Ok(v) => v as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// `compat_ioctl`.
    ///
    /// # Safety
    ///
    /// As for `ioctl`.
    unsafe extern "C" fn compat_ioctl(
        file: *mut bindings::file,
        cmd: c_uint,
        arg: c_ulong,
    ) -> c_long {
        // A 32-bit caller's pointer is the low 32 bits, zero-extended: `compat_ptr()` on x86-64,
        // which is not reachable from Rust.
        let arg = arg as u32 as usize;
        // SAFETY: as for `ioctl`.
        let this = unsafe { Self::borrow(file) };
        // SAFETY: as for `ioctl`.
        let f = unsafe { File::from_raw_file(file) };
        match T::compat_ioctl(this, f, cmd, arg) {
            Ok(v) => v as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// `mmap`.
    ///
    /// # Safety
    ///
    /// As for `ioctl`, with `vma` being set up by this mmap call.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: as for `ioctl`.
        let this = unsafe { Self::borrow(file) };
        // SAFETY: `vma` is being set up by this mmap call, valid for it.
        let vma = unsafe { VmaNew::from_raw(vma) };
        match T::mmap(this, vma) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// `poll`.
    ///
    /// # Safety
    ///
    /// As for `ioctl`, with a poll table (or null) valid for the call.
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) -> bindings::__poll_t {
        // SAFETY: as for `ioctl`.
        let this = unsafe { Self::borrow(file) };
        // SAFETY: the file is valid for the call and no `fdget_pos` region is active on it here.
        let f = unsafe { File::from_raw_file(file) };
        // SAFETY: `table` is null or a poll table valid for the call.
        let table = unsafe { PollTable::from_raw(table) };
        T::poll(this, f, table)
    }
}
