// SPDX-License-Identifier: GPL-2.0

//! A misc device whose file operations include `poll` and whose registration carries driver data
//! that `open` reaches: 7.3's `kernel::miscdevice` has neither. Built as
//! `rust/kernel/miscdevice.rs` builds its own: a `file_operations` table that is a Rust `const`
//! per file type, whose entries are `unsafe extern "C"` functions generic over that type, and the
//! file's private data a [`ForeignOwnable`].

use core::marker::PhantomData;

use kernel::{
    bindings,
    error::{
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    fs::File,
    mm::virt::VmaNew,
    module::this_module,
    prelude::*,
    sync::poll::PollTable,
    types::{
        ForeignOwnable,
        Opaque, //
    }, //
};

/// What a [`MiscNode`]'s open files do: the safe side of its file operations.
#[vtable]
pub(crate) trait NodeFile: Sized {
    /// What an open file's private data holds.
    type Ptr: ForeignOwnable + Send + Sync;
    /// The node's driver data, handed to [`NodeFile::open`].
    type Data: Send + Sync;

    /// A file is being opened on the node; the returned pointer becomes its private data, dropped
    /// when the file is released (its last reference gone).
    fn open(data: &Self::Data) -> Result<Self::Ptr>;

    /// An ioctl from a caller of the kernel's own word size.
    fn ioctl(
        this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        cmd: u32,
        arg: usize,
    ) -> Result<isize>;

    /// An ioctl from a 32-bit caller; `arg` is already widened as `compat_ptr()` widens a pointer.
    /// Without it, 32-bit callers get `ENOTTY` for every ioctl.
    fn compat_ioctl(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
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

/// A misc device `/dev/<name>` whose files are `T`, with driver data that `T::open` receives.
///
/// # Invariants
///
/// `misc` is registered with [`NodeVTable::<T>`]'s file operations from `new` until `drop`;
/// `data` is initialised before and dropped after, so an `open` (which runs while the
/// registration exists) always finds it next to the `miscdevice` it was opened through.
#[pin_data(PinnedDrop)]
pub(crate) struct MiscNode<T: NodeFile> {
    data: T::Data,
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    _files: PhantomData<T>,
}

// SAFETY: once registered, the `miscdevice` is read only by the misc core (under its own lock) and
// deregistered by `drop`, from any thread; `data` is `Send + Sync` (`NodeFile::Data`).
unsafe impl<T: NodeFile> Send for MiscNode<T> {}
// SAFETY: `&MiscNode` gives access to nothing but `data`, which is `Sync`.
unsafe impl<T: NodeFile> Sync for MiscNode<T> {}

impl<T: NodeFile> MiscNode<T> {
    /// Registers `/dev/<name>`, whose `open` will find `data`.
    pub(crate) fn new(name: &'static CStr, data: T::Data) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            data,
            misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut misc: bindings::miscdevice = pin_init::zeroed();
                misc.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                misc.name = name.as_char_ptr();
                misc.fops = &NodeVTable::<T>::VTABLE;
                // SAFETY: `try_ffi_init` passes the `Opaque`'s memory, valid for writing one
                // `miscdevice`.
                unsafe { slot.write(misc) };
                // SAFETY: `slot` holds an unregistered `miscdevice` with a static name and file
                // operations; its memory is pinned, and `PinnedDrop` deregisters it before the
                // memory goes. `data` is initialised already (fields initialise in order).
                // INVARIANT: on success `misc` is registered with `NodeVTable::<T>`.
                to_result(unsafe { bindings::misc_register(slot) })
            }),
            _files: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: NodeFile> PinnedDrop for MiscNode<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered by `new` (type invariant); deregistered once, here.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

/// The file operations of a [`MiscNode<T>`].
///
/// The entries are typed with the bindings' `inode`, `file`, `vm_area_struct` and
/// `poll_table_struct`, as the kernel crate types its own: under kCFI (`CONFIG_CFI`) the type hash
/// checked at the VFS's indirect call is computed from the callee's signature.
struct NodeVTable<T: NodeFile>(PhantomData<T>);

impl<T: NodeFile> NodeVTable<T> {
    const VTABLE: bindings::file_operations = bindings::file_operations {
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
    /// `inode` and `file` are a file being opened by `misc_open()` through a [`MiscNode<T>`]'s
    /// `miscdevice`.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: a file being opened, with its inode.
        let ret = unsafe { bindings::generic_file_open(inode, file) };
        if ret != 0 {
            return ret;
        }
        // SAFETY: the open call may read the file's private data.
        let misc = unsafe { (*file).private_data }.cast::<Opaque<bindings::miscdevice>>();
        // SAFETY: `misc_open()` set the private data to the `miscdevice` being opened, the `misc`
        // field of a live `MiscNode<T>` (the only registrations with these file operations), and
        // keeps it registered, so the node alive, during this call.
        let node = unsafe { &*kernel::container_of!(misc, MiscNode<T>, misc) };
        match T::open(&node.data) {
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
        match T::ioctl(this, cmd, arg) {
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
        match T::compat_ioctl(this, cmd, arg) {
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
