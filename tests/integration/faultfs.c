/*
 * A file system that fails on demand, for yearbook's fault tests: loaded
 * with LD_PRELOAD into a `yearbook run`, it wraps the C library's calls that
 * write outputs and fails one of them.
 *
 *   FAULTFS_DIR=/some/dir      only calls on paths under it count
 *   FAULTFS_FAIL=write:17      the 17th counted `write` fails with EIO
 *   FAULTFS_COUNT=/tmp/counts  at exit, write each operation's count there
 *
 * Operations: write (write, writev, pwrite64), close, closedir, fsync
 * (fsync, fdatasync), rename (rename, renameat, renameat2), remove (unlink,
 * unlinkat, rmdir), mkdir, open (open64, openat64 creating a file). A
 * failed close still closes the descriptor, as Linux does.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum op { WRITE, CLOSE, CLOSEDIR, FSYNC, RENAME, REMOVE, MKDIR, OPEN, OPS };
static const char *names[OPS] = {"write", "close", "closedir", "fsync", "rename", "remove", "mkdir", "open"};
static long counts[OPS];
static int fail_op = -1;
static long fail_at;
static const char *dir;
static size_t dir_len;

__attribute__((constructor)) static void init(void) {
    dir = getenv("FAULTFS_DIR");
    dir_len = dir ? strlen(dir) : 0;
    const char *fail = getenv("FAULTFS_FAIL");
    if (fail) {
        for (int i = 0; i < OPS; i++) {
            size_t n = strlen(names[i]);
            if (strncmp(fail, names[i], n) == 0 && fail[n] == ':') {
                fail_op = i;
                fail_at = atol(fail + n + 1);
            }
        }
    }
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("FAULTFS_COUNT");
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (!f) return;
    for (int i = 0; i < OPS; i++) fprintf(f, "%s %ld\n", names[i], counts[i]);
    fclose(f);
}

static int under(const char *path) {
    return dir && path && strncmp(path, dir, dir_len) == 0 && (path[dir_len] == '/' || path[dir_len] == 0);
}

static int fd_under(int fd) {
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = 0;
    return under(path);
}

static int at_under(int dirfd, const char *path) {
    if (!path) return 0;
    if (path[0] == '/' || dirfd == AT_FDCWD) {
        if (path[0] == '/') return under(path);
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return 0;
        char full[PATH_MAX * 2];
        snprintf(full, sizeof full, "%s/%s", cwd, path);
        return under(full);
    }
    return fd_under(dirfd);
}

/* Counts a call on a path under the directory; true when it must fail. */
static int hit(enum op op, int counted) {
    if (!counted) return 0;
    long n = __atomic_add_fetch(&counts[op], 1, __ATOMIC_SEQ_CST);
    return (int)op == fail_op && n == fail_at;
}

#define REAL(ret, name, ...) \
    static ret (*real)(__VA_ARGS__); \
    if (!real) real = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

ssize_t write(int fd, const void *buf, size_t count) {
    REAL(ssize_t, "write", int, const void *, size_t);
    if (hit(WRITE, fd_under(fd))) { errno = EIO; return -1; }
    return real(fd, buf, count);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
    REAL(ssize_t, "writev", int, const struct iovec *, int);
    if (hit(WRITE, fd_under(fd))) { errno = EIO; return -1; }
    return real(fd, iov, iovcnt);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    REAL(ssize_t, "pwrite64", int, const void *, size_t, off_t);
    if (hit(WRITE, fd_under(fd))) { errno = EIO; return -1; }
    return real(fd, buf, count, offset);
}

int close(int fd) {
    REAL(int, "close", int);
    int failing = hit(CLOSE, fd_under(fd));
    int r = real(fd);
    if (failing) { errno = EIO; return -1; }
    return r;
}

int closedir(DIR *d) {
    REAL(int, "closedir", DIR *);
    int failing = hit(CLOSEDIR, fd_under(dirfd(d)));
    int r = real(d);
    if (failing) { errno = EIO; return -1; }
    return r;
}

int fsync(int fd) {
    REAL(int, "fsync", int);
    if (hit(FSYNC, fd_under(fd))) { errno = EIO; return -1; }
    return real(fd);
}

int fdatasync(int fd) {
    REAL(int, "fdatasync", int);
    if (hit(FSYNC, fd_under(fd))) { errno = EIO; return -1; }
    return real(fd);
}

int rename(const char *from, const char *to) {
    REAL(int, "rename", const char *, const char *);
    if (hit(RENAME, at_under(AT_FDCWD, from) || at_under(AT_FDCWD, to))) { errno = EIO; return -1; }
    return real(from, to);
}

int renameat(int fd1, const char *from, int fd2, const char *to) {
    REAL(int, "renameat", int, const char *, int, const char *);
    if (hit(RENAME, at_under(fd1, from) || at_under(fd2, to))) { errno = EIO; return -1; }
    return real(fd1, from, fd2, to);
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned flags) {
    REAL(int, "renameat2", int, const char *, int, const char *, unsigned);
    if (hit(RENAME, at_under(fd1, from) || at_under(fd2, to))) { errno = EIO; return -1; }
    return real(fd1, from, fd2, to, flags);
}

int unlink(const char *path) {
    REAL(int, "unlink", const char *);
    if (hit(REMOVE, at_under(AT_FDCWD, path))) { errno = EIO; return -1; }
    return real(path);
}

int unlinkat(int fd, const char *path, int flags) {
    REAL(int, "unlinkat", int, const char *, int);
    if (hit(REMOVE, at_under(fd, path))) { errno = EIO; return -1; }
    return real(fd, path, flags);
}

int rmdir(const char *path) {
    REAL(int, "rmdir", const char *);
    if (hit(REMOVE, at_under(AT_FDCWD, path))) { errno = EIO; return -1; }
    return real(path);
}

int mkdir(const char *path, mode_t mode) {
    REAL(int, "mkdir", const char *, mode_t);
    if (hit(MKDIR, at_under(AT_FDCWD, path))) { errno = EIO; return -1; }
    return real(path, mode);
}

/* The mode argument of an open call that may create a file. */
#define MODE(flags, last)                          \
    ({                                             \
        mode_t mode_ = 0;                          \
        if ((flags) & (O_CREAT | O_TMPFILE)) {     \
            va_list ap;                            \
            va_start(ap, last);                    \
            mode_ = va_arg(ap, mode_t);            \
            va_end(ap);                            \
        }                                          \
        mode_;                                     \
    })

int open64(const char *path, int flags, ...) {
    REAL(int, "open64", const char *, int, ...);
    mode_t mode = MODE(flags, flags);
    if (hit(OPEN, (flags & O_CREAT) && at_under(AT_FDCWD, path))) { errno = EIO; return -1; }
    return real(path, flags, mode);
}

int openat64(int fd, const char *path, int flags, ...) {
    REAL(int, "openat64", int, const char *, int, ...);
    mode_t mode = MODE(flags, flags);
    if (hit(OPEN, (flags & O_CREAT) && at_under(fd, path))) { errno = EIO; return -1; }
    return real(fd, path, flags, mode);
}
