# mk targets for the toolkit (mk is Plan 9's, from 9base).
#	mk		build the commands (out/bin holds links to them) and
#			libpager (out/lib/libpager.so, out/include/pager.h)
#	mk test		run the tests
#	mk demo		run the main job end to end
#	mk publish	build the commands as NativeAOT executables into out/aot
#	mk install	install out/aot's commands, libpager, its header and
#			the manual pages under $prefix
#	mk clean	remove what the build made

# The recipes are rc(1)'s, as in Plan 9; 9base's mk would run them with sh.
MKSHELL=/usr/lib/plan9/bin/rc
prefix=/usr/local
CMDS=pagerd mapctl faultcat pagefill
MAN1=faultcat.1 mapctl.1 pagefill.1

all:V:
	sh .ci/setup

test:V: all
	dotnet test tests/Tests.csproj --no-build --blame-hang-timeout 5m

demo:V: all
	./rc/demo

publish:V:
	for(c in $CMDS)
		dotnet publish cmd/$c/$c.csproj -c Release -r linux-x64 -o out/aot -nologo -v q

install:V: all publish
	mkdir -p $prefix/bin $prefix/lib $prefix/include $prefix/share/man/man1 $prefix/share/man/man3 $prefix/share/man/man7 $prefix/share/man/man8
	for(c in $CMDS)
		cp out/aot/$c $prefix/bin/$c
	cp out/lib/libpager.so $prefix/lib/libpager.so
	cp out/include/pager.h $prefix/include/pager.h
	cp man/pager.3 $prefix/share/man/man3/pager.3
	for(m in $MAN1)
		cp man/$m $prefix/share/man/man1/$m
	cp man/pager.7 man/pagerwire.7 $prefix/share/man/man7/
	cp man/pagerd.8 $prefix/share/man/man8/pagerd.8

clean:V:
	dotnet clean Tools.sln -v q -nologo
	rm -rf out
