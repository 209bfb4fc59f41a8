# A client of bench soak: attaches a map through libpager and reads
# random ranges of the part of it that is never written, comparing each
# byte with the file the map was made from. It prints "ok N" (bytes
# checked so far) now and then, "bad OFF LEN" and exits 1 on a wrong
# byte; a missing page that raises SIGBUS kills it, which the soak sees.
# An attach refused (pagerd restarting) is tried again for a minute.
# usage: python3 soak-client.py LIBPAGER MAP FILE LIMIT MODE SEED
import ctypes, random, sys, time

lib = ctypes.CDLL(sys.argv[1])
lib.pager_attach.restype = ctypes.c_void_p
lib.pager_attach.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
lib.pager_errstr.restype = ctypes.c_char_p
name, path, limit, mode, seed = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])

with open(path, "rb") as f:
	want = f.read(limit)
n = ctypes.c_size_t()
# Started while pagerd is being killed and started again, the attach
# fails: a program that wants the map tries again, as this one does.
for tries in range(600):
	p = lib.pager_attach(name.encode(), mode, None, ctypes.byref(n))
	if p:
		break
	time.sleep(0.1)
else:
	sys.exit("soak-client: " + lib.pager_errstr().decode())
r = random.Random(seed)
checked, said = 0, 0
while True:
	off = r.randrange(limit)
	ln = min(r.randrange(1, 64 << 10), limit - off)
	if ctypes.string_at(p + off, ln) != want[off:off + ln]:
		print("bad", off, ln, flush=True)
		sys.exit(1)
	checked += ln
	time.sleep(0.001)	# leave the machine to pagerd and its pagers
	if checked - said >= 1 << 20:
		print("ok", checked, flush=True)
		said = checked
