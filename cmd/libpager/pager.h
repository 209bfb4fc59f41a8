/*
 * libpager: maps served by pagerd(8), for programs in any language.
 * See pager(3).
 */
#ifndef PAGER_H
#define PAGER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum
{
	PAGER_RO	= 0,	/* map PROT_READ */
	PAGER_RW	= 1,	/* map PROT_READ|PROT_WRITE; writes are written back */
};

void*	pager_attach(const char *name, int mode, void *addr, size_t *size);
int	pager_sync(void *base);
int	pager_notify(void *base, void (*fn)(void *arg, const char *note), void *arg);
int	pager_detach(void *base);
const char*	pager_errstr(void);

#ifdef __cplusplus
}
#endif

#endif
