/* Key files for unattended vaults: 32 random bytes, mode 0400, owned by the
 * vault's user and unreadable to the agent's user in a container. */
#ifndef VS_KEYFILE_H
#define VS_KEYFILE_H

#include <stdint.h>

/* Creates path exclusively (0400, O_NOFOLLOW) with 32 fresh random bytes. */
int vs_keyfile_create(const char *path);

/* Reads a key file into a sodium_malloc'd buffer of 32 bytes (*out; the
 * caller sodium_free's it). Refuses a link, a wrong size, and a file that
 * is group- or world-accessible or owned by another user. */
int vs_keyfile_read(const char *path, uint8_t **out);

#endif
