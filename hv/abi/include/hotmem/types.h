/*
 * Freestanding base types for the hotmem ABI. The layout and protocol code is
 * compiled both into the Linux module (xen_hotmem.ko) and into host programs,
 * so it may only use fixed-width integers, bool, size_t and errno constants;
 * this header picks the right source for them in each world.
 */
#ifndef HOTMEM_TYPES_H
#define HOTMEM_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#endif

#endif /* HOTMEM_TYPES_H */
