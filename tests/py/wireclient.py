#!/usr/bin/env python3
"""wireclient: a client of pagerd written from pagerwire(7) alone: its own
socket messages, descriptors and userfaultfd, with no libpager and no
code of the toolkit's.  It attaches MAP and runs the commands after it:

	cat OFF LEN	copy the bytes out to standard output
	write OFF TEXT	copy TEXT into the map
	sync		print "sync ok", or "sync failed: " and the ranges
	note		print the next note, "note TEXT", waiting for it
	detach		detach, unregister, unmap

Messages go to standard error; a failure exits 1.
"""
import ctypes
import os
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]

PROT_READ, PROT_WRITE, MAP_SHARED, MADV_DONTFORK = 1, 2, 1, 10
MAP_FAILED = ctypes.c_void_p(-1).value

# pagerwire(7): the numbers of linux/userfaultfd.h
NR_USERFAULTFD = {"x86_64": 323, "aarch64": 282}[os.uname().machine]
UFFDIO_API, UFFDIO_REGISTER, UFFDIO_UNREGISTER, UFFDIO_WRITEPROTECT = 0xc018aa3f, 0xc020aa00, 0x8010aa01, 0xc018aa06
FEATURE_PAGEFAULT_FLAG_WP, FEATURE_MISSING_SHMEM, FEATURE_THREAD_ID = 1 << 0, 1 << 5, 1 << 8
FEATURE_WP_HUGETLBFS_SHMEM, FEATURE_POISON = 1 << 12, 1 << 14
REGISTER_MISSING, REGISTER_WP, WRITEPROTECT_WP = 1, 2, 1

u64 = ctypes.c_uint64


class Api(ctypes.Structure):
	_fields_ = [("api", u64), ("features", u64), ("ioctls", u64)]


class Register(ctypes.Structure):
	_fields_ = [("start", u64), ("len", u64), ("mode", u64), ("ioctls", u64)]


class Range(ctypes.Structure):
	_fields_ = [("start", u64), ("len", u64)]


class WriteProtect(ctypes.Structure):
	_fields_ = [("start", u64), ("len", u64), ("mode", u64)]


def fail(msg):
	sys.exit("wireclient: " + msg)


def ioctl(fd, req, arg, what):
	if libc.ioctl(fd, req, ctypes.byref(arg)) < 0:
		fail(f"{what}: {os.strerror(ctypes.get_errno())}")


def userfaultfd():
	fd = libc.syscall(NR_USERFAULTFD, os.O_CLOEXEC | os.O_NONBLOCK)
	if fd < 0:
		fail(f"userfaultfd: {os.strerror(ctypes.get_errno())}")
	return fd


class Conn:
	"""The connection: requests and their answers, notes set aside."""

	def __init__(self, path):
		self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		self.s.settimeout(60)
		self.s.connect(path)
		self.buf, self.fds, self.notes = b"", [], []

	def line(self):
		while b"\n" not in self.buf:
			data, fds, _, _ = socket.recv_fds(self.s, 65536, 4)
			if not data:
				fail("pagerd closed the connection")
			self.buf += data
			self.fds += fds
		l, self.buf = self.buf.split(b"\n", 1)
		return l.decode()

	def call(self, req, fd=None):
		if fd is None:
			self.s.sendall(req.encode() + b"\n")
		else:
			socket.send_fds(self.s, [req.encode() + b"\n"], [fd])
		l = self.line()
		while l.startswith("note "):
			self.notes.append(l[5:])
			l = self.line()
		if l.startswith("err "):
			fail(f"{req}: {l[4:]}")
		if not l.startswith("ok "):
			fail(f"{req}: bad answer '{l}'")
		body = [self.line() for _ in range(int(l[3:]))]
		return body, (self.fds.pop(0) if self.fds else None)

	def note(self):
		while not self.notes:
			l = self.line()
			if not l.startswith("note "):
				fail(f"unasked line '{l}'")
			self.notes.append(l[5:])
		return self.notes.pop(0)


def attach(conn, name, mode):
	body, memfd = conn.call(f"attach {name} mode={mode}")
	if memfd is None or len(body) != 1:
		fail(f"attach {name}: no memfd")
	kv = dict(f.split("=", 1) for f in body[0].split()[1:])
	size, length, ro = int(kv["size"]), int(kv["length"]), kv["mode"] == "ro"
	base = libc.mmap(None, length, PROT_READ | (0 if ro else PROT_WRITE), MAP_SHARED, memfd, 0)
	if base == MAP_FAILED:
		fail(f"mmap: {os.strerror(ctypes.get_errno())}")
	os.close(memfd)
	libc.madvise(base, length, MADV_DONTFORK)

	probe = userfaultfd()
	api = Api(0xAA, 0, 0)
	ioctl(probe, UFFDIO_API, api, "UFFDIO_API")
	offered = api.features
	os.close(probe)
	need = FEATURE_MISSING_SHMEM | (0 if ro else FEATURE_PAGEFAULT_FLAG_WP | FEATURE_WP_HUGETLBFS_SHMEM)
	if need & ~offered:
		fail(f"the kernel lacks userfaultfd features {need & ~offered:#x}")
	uffd = userfaultfd()
	ioctl(uffd, UFFDIO_API, Api(0xAA, need | (offered & (FEATURE_THREAD_ID | FEATURE_POISON)), 0), "UFFDIO_API")
	ioctl(uffd, UFFDIO_REGISTER, Register(base, length, REGISTER_MISSING | (0 if ro else REGISTER_WP), 0), "UFFDIO_REGISTER")
	if not ro:
		ioctl(uffd, UFFDIO_WRITEPROTECT, WriteProtect(base, length, WRITEPROTECT_WP), "UFFDIO_WRITEPROTECT")
	# A read-only attachment's uffd says no mode: pagerd takes the attach's.
	conn.call(f"uffd {name} base={base:#x}" + ("" if ro else " mode=rw"), uffd)
	return base, size, length, uffd


def main():
	if len(sys.argv) < 3:
		sys.exit("usage: wireclient.py map ro|rw [command ...]")
	name, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
	conn = Conn(os.environ["PAGERDIR"] + "/sock")
	base, size, length, uffd = attach(conn, name, mode)
	while args:
		c = args.pop(0)
		if c == "cat":
			off, n = int(args.pop(0)), int(args.pop(0))
			sys.stdout.buffer.write(ctypes.string_at(base + off, n))
			sys.stdout.buffer.flush()
		elif c == "write":
			off, text = int(args.pop(0)), args.pop(0).encode()
			ctypes.memmove(base + off, text, len(text))
		elif c == "sync":
			failed, _ = conn.call(f"sync {name}")
			print("sync failed: " + "; ".join(failed) if failed else "sync ok", file=sys.stderr)
		elif c == "note":
			print("note " + conn.note(), file=sys.stderr)
		elif c == "detach":
			conn.call(f"detach {name}")
			ioctl(uffd, UFFDIO_UNREGISTER, Range(base, length), "UFFDIO_UNREGISTER")
			libc.munmap(base, length)
			os.close(uffd)
		else:
			fail(f"bad command '{c}'")
		sys.stderr.flush()


main()
