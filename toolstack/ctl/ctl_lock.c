/*
 * The engine lock (see ctl.h): one flock()ed file per journal, so hotmemd
 * and an in-process xl-hotmem never run two engines on one journal, and the
 * file name that says which journal (and, for a simulated host, which
 * socket) it guards.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Append text to buf at *pos, every byte but [A-Za-z0-9.] as _XX (a file name). */
static int lock_name_append(char *buf, size_t size, size_t *pos, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '.';

		if (*pos + (plain ? 1 : 3) >= size)
			return -ENAMETOOLONG;
		if (plain) {
			buf[(*pos)++] = (char)c;
		} else {
			buf[(*pos)++] = '_';
			buf[(*pos)++] = hex[c >> 4];
			buf[(*pos)++] = hex[c & 15];
		}
	}
	buf[*pos] = '\0';
	return 0;
}

int ctl_lock_path(const char *backend, const char *journal_dir, const char *socket_path, char *buf,
		  size_t size)
{
	const char *dir = getenv("HOTMEM_LOCK_DIR");
	size_t pos, len;
	int n, r;

	/*
	 * A simulated host and its journal live in the process serving the
	 * socket: its lock goes next to the socket (no systemd unit removes
	 * that directory under a running daemon, and tests leave nothing in
	 * the host's /run/lock).
	 */
	if (!strcmp(backend, "sim") && (!dir || !dir[0])) {
		len = strlen(socket_path);
		if (len > 5 && !strcmp(socket_path + len - 5, ".sock"))
			len -= 5;
		n = snprintf(buf, size, "%.*s.lock", (int)len, socket_path);
		return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	}
	if (!dir || !dir[0])
		dir = CTL_LOCK_DIR;
	n = snprintf(buf, size, "%s/%s", dir, backend);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	pos = (size_t)n;
	r = lock_name_append(buf, size, &pos, journal_dir, strlen(journal_dir));
	/* A simulated host lives in the process serving its socket: so does its journal. */
	if (!r && !strcmp(backend, "sim")) {
		len = strlen(socket_path);
		if (len > 5 && !strcmp(socket_path + len - 5, ".sock"))
			len -= 5;
		r = lock_name_append(buf, size, &pos, "@", 1);
		if (!r)
			r = lock_name_append(buf, size, &pos, socket_path, len);
	}
	if (!r && pos + 5 >= size)
		r = -ENAMETOOLONG;
	if (!r)
		memcpy(buf + pos, ".lock", 6);
	return r;
}

int ctl_lock(const char *lock_path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", lock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	/*
	 * The file we locked must still be the one at lock_path: if somebody
	 * removed it (and maybe another engine created and locked a new one)
	 * between our open and flock, our lock guards nothing. Then start over.
	 */
	for (unsigned int attempt = 0; attempt < 8; attempt++) {
		struct stat locked, named;

		fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int r = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;

			close(fd);
			return r;
		}
		if (fstat(fd, &locked) == 0 && stat(lock_path, &named) == 0 &&
		    locked.st_dev == named.st_dev && locked.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
	return -EAGAIN;
}
