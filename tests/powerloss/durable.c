/*
 * A file layer for the power-loss test (tests/powerloss.rs), preloaded
 * into `gazette send` with LD_PRELOAD. Every fsync/fdatasync of a file
 * whose path starts with $GAZETTE_DURABLE_MATCH (the state database and
 * its WAL) first syncs for real, then copies the file as it now is to
 * $GAZETTE_DURABLE_DIR/<name>: the snapshot is what a disk is guaranteed
 * to hold. After the test kills the process it puts the snapshots back
 * (a file never synced goes back to empty), which discards every write
 * made after the file's last fsync: the worst a power loss may do to data
 * that was written but not synced. Names (creating files) are kept.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void snapshot(int fd) {
    const char *match = getenv("GAZETTE_DURABLE_MATCH");
    const char *dir = getenv("GAZETTE_DURABLE_DIR");
    if (!match || !dir) return;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = 0;
    if (strncmp(path, match, strlen(match)) != 0) return;
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    if (strstr(name, "-shm") || strstr(name, ".lock")) return;
    char tmp[PATH_MAX], final[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf(final, sizeof final, "%s/%s", dir, name);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) abort();
    char buf[65536];
    off_t at = 0;
    ssize_t got;
    while ((got = pread(fd, buf, sizeof buf, at)) > 0) {
        if (write(out, buf, (size_t)got) != got) abort();
        at += got;
    }
    if (got < 0) abort();
    close(out);
    if (rename(tmp, final) != 0) abort();
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int result = real(fd);
    if (result == 0) snapshot(fd);
    return result;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int result = real(fd);
    if (result == 0) snapshot(fd);
    return result;
}
