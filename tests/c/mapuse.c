/*
 * mapuse: a C client of libpager for the tests.  It attaches MAP and
 * runs the commands that follow, in order:
 *
 *	cat OFF LEN	copy the bytes out (through a buffer) to standard output
 *	write OFF TEXT	copy TEXT into the map; prints "wrote OFF"
 *	sync		pager_sync; prints "sync ok" or "sync failed: ERRSTR"
 *	threads N	N threads copy the whole map out at once, each from a
 *			different page onwards; the copies must agree, and the
 *			first goes to standard output
 *	touch OFF	read the byte at OFF (faults, and may raise SIGBUS);
 *			prints "touched"
 *	notes		print every note, "note TEXT", on standard error
 *	wait		read a line of standard input first
 *	fork		fork; the child touches the map and must die of SIGSEGV
 *	detach		pager_detach
 *
 * Messages go to standard error; a failure exits 1 with pager_errstr.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pager.h"

static char *base;
static size_t size;

static void
fail(char *what)
{
	fprintf(stderr, "mapuse: %s: %s\n", what, pager_errstr());
	exit(1);
}

static void
writeall(char *p, size_t n)
{
	ssize_t w;

	while(n > 0){
		if((w = write(1, p, n)) <= 0){
			perror("mapuse: write");
			exit(1);
		}
		p += w;
		n -= w;
	}
}

static void
cat(size_t off, size_t len)
{
	static char buf[1<<16];
	size_t n;

	while(len > 0){
		n = len < sizeof buf ? len : sizeof buf;
		memcpy(buf, base+off, n);
		writeall(buf, n);
		off += n;
		len -= n;
	}
}

typedef struct Copy Copy;
struct Copy
{
	pthread_t t;
	size_t first;	/* page */
	char *buf;
};

static void*
copier(void *v)
{
	Copy *c = v;
	size_t npage, i, off, n;

	/* from page first to the end, then from the start to page first */
	npage = (size + 4095) / 4096;
	for(i = 0; i < npage; i++){
		off = (c->first + i) % npage * 4096;
		n = size - off < 4096 ? size - off : 4096;
		memcpy(c->buf + off, base + off, n);
	}
	return NULL;
}

static void
threads(int n)
{
	Copy *c;
	int i;

	c = calloc(n, sizeof *c);
	for(i = 0; i < n; i++){
		c[i].first = (size + 4095) / 4096 * i / n;
		c[i].buf = malloc(size);
		if(pthread_create(&c[i].t, NULL, copier, &c[i]) != 0){
			fprintf(stderr, "mapuse: pthread_create failed\n");
			exit(1);
		}
	}
	for(i = 0; i < n; i++)
		pthread_join(c[i].t, NULL);
	for(i = 1; i < n; i++)
		if(memcmp(c[0].buf, c[i].buf, size) != 0){
			fprintf(stderr, "mapuse: thread %d copied other bytes than thread 0\n", i);
			exit(1);
		}
	writeall(c[0].buf, size);
}

static void
note(void *arg, const char *text)
{
	fprintf(stderr, "%s %s\n", (char*)arg, text);
}

static void
forkcheck(void)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	if((pid = fork()) < 0){
		perror("mapuse: fork");
		exit(1);
	}
	if(pid == 0){
		/* the map is not inherited: this touch must raise SIGSEGV */
		signal(SIGSEGV, SIG_DFL);
		volatile char c = base[0];
		(void)c;
		_exit(0);
	}
	if(waitpid(pid, &status, 0) < 0){
		perror("mapuse: waitpid");
		exit(1);
	}
	if(WIFSIGNALED(status))
		fprintf(stderr, "child: signal %d\n", WTERMSIG(status));
	else
		fprintf(stderr, "child: exit %d\n", WEXITSTATUS(status));
}

int
main(int argc, char **argv)
{
	char line[256];
	int i;

	if(argc < 3){
		fprintf(stderr, "usage: mapuse map ro|rw [command ...]\n");
		return 2;
	}
	base = pager_attach(argv[1], strcmp(argv[2], "rw") == 0 ? PAGER_RW : PAGER_RO, NULL, &size);
	if(base == NULL)
		fail("attach");
	for(i = 3; i < argc; i++){
		char *c = argv[i];
		if(strcmp(c, "cat") == 0 && i+2 < argc){
			cat(strtoull(argv[i+1], 0, 0), strtoull(argv[i+2], 0, 0));
			i += 2;
		}else if(strcmp(c, "write") == 0 && i+2 < argc){
			memcpy(base + strtoull(argv[i+1], 0, 0), argv[i+2], strlen(argv[i+2]));
			fprintf(stderr, "wrote %s\n", argv[i+1]);
			i += 2;
		}else if(strcmp(c, "sync") == 0){
			if(pager_sync(base) < 0)
				fprintf(stderr, "sync failed: %s\n", pager_errstr());
			else
				fprintf(stderr, "sync ok\n");
		}else if(strcmp(c, "threads") == 0 && i+1 < argc)
			threads(atoi(argv[++i]));
		else if(strcmp(c, "touch") == 0 && i+1 < argc){
			volatile char b = base[strtoull(argv[++i], 0, 0)];
			(void)b;
			fprintf(stderr, "touched\n");
		}else if(strcmp(c, "notes") == 0){
			if(pager_notify(base, note, "note") < 0)
				fail("notify");
		}else if(strcmp(c, "wait") == 0){
			if(fgets(line, sizeof line, stdin) == NULL){
				fprintf(stderr, "mapuse: no line to wait for\n");
				return 1;
			}
		}else if(strcmp(c, "fork") == 0)
			forkcheck();
		else if(strcmp(c, "detach") == 0){
			if(pager_detach(base) < 0)
				fail("detach");
			base = NULL;
		}else{
			fprintf(stderr, "mapuse: bad command '%s'\n", c);
			return 2;
		}
		fflush(stderr);
	}
	return 0;
}
