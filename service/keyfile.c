/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The key file of --keys, which `nimbus keys add|list|remove` manage and
 * the server reads at start and at every SIGHUP. One key a line:
 *
 *     # comment
 *     NAME ROLE sha256:SALT:HASH ADDED
 *
 * NAME as for --api-key; ROLE read, write or admin; SALT 16 random bytes
 * and HASH SHA-256(SALT || secret), both in lower-case hex; ADDED the RFC
 * 3339 UTC second the key was added (optional). The secret itself is never
 * written anywhere: `nimbus keys add` prints it once. Fields are separated
 * by spaces or tabs; the scheme prefix leaves room for another hash later.
 *
 * Whoever reads the file can mount an offline guess at nothing (the
 * secrets are 256 random bits) but learns the key names and roles, and
 * whoever writes it grants access: a file other users may read or write is
 * refused, as ssh refuses such a private key.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "service_internal.h"

#define SCHEME "sha256:"
/* The longest line worth reading: name, role, scheme, salt, hash, time. */
#define LINE_MAX_LEN 512
/* The largest key file: NIMBUS_KEYS_MAX keys and room for comments. */
#define FILE_MAX_BYTES (1024 * 1024)

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* "2024-05-01T12:00:00Z" and nothing else. */
static bool added_valid(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof shape - 1) {
        return false;
    }
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i]) {
            return false;
        }
    }
    return true;
}

/* One line's fields into e. 0, or -1 with why (static text). */
static int parse_line(char *line, nimbus_key_entry_t *e, const char **why)
{
    char *fields[5];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (n == 5) {
            break;
        }
        fields[n++] = tok;
    }
    if (n < 3 || n > 4) {
        *why = "a key line is NAME ROLE sha256:SALT:HASH [ADDED]";
        return -1;
    }
    memset(e, 0, sizeof *e);
    if (!nimbus_key_name_valid(fields[0])) {
        *why = "a key's name must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'";
        return -1;
    }
    snprintf(e->name, sizeof e->name, "%s", fields[0]);
    if (!nimbus_role_from_name(fields[1], &e->role)) {
        *why = "a key's role must be read, write or admin";
        return -1;
    }
    const char *h = fields[2];
    const char *colon =
        strncmp(h, SCHEME, strlen(SCHEME)) == 0 ? strchr(h + strlen(SCHEME), ':') : NULL;
    if (!colon ||
        !nimbus_hex_decode_lower(h + strlen(SCHEME), (size_t)(colon - h) - strlen(SCHEME), e->salt,
                                 sizeof e->salt) ||
        !nimbus_hex_decode_lower(colon + 1, strlen(colon + 1), e->hash, sizeof e->hash)) {
        *why = "a key's hash must be sha256:SALT:HASH (32 and 64 lower-case hex digits)";
        return -1;
    }
    if (n == 4) {
        if (!added_valid(fields[3])) {
            *why = "a key's time added must look like 2024-05-01T12:00:00Z";
            return -1;
        }
        snprintf(e->added, sizeof e->added, "%s", fields[3]);
    }
    return 0;
}

int nimbus_key_file_read_fd(int fd, const char *path, nimbus_key_entry_t **entries, size_t *count,
                            nimbus_error_t *err)
{
    *entries = NULL;
    *count = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot read key file %s: %s", path,
                                strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "key file %s is not a file", path);
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "key file %s may be %s by every user (mode %04o); refusing it: "
                                "chmod o-rwx %s",
                                path, st.st_mode & S_IROTH ? "read" : "written",
                                (unsigned)(st.st_mode & 07777), path);
    }
    /* Read whole with pread, on the caller's descriptor: no second
     * descriptor (and no stdio) for a file of a few kilobytes. */
    if (st.st_size > FILE_MAX_BYTES) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "key file %s is over %d bytes", path,
                                FILE_MAX_BYTES);
    }
    size_t size = (size_t)st.st_size;
    char *text = malloc(size + 1);
    nimbus_key_entry_t *keys = calloc(NIMBUS_KEYS_MAX, sizeof *keys);
    if (!text || !keys) {
        free(text);
        free(keys);
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    size_t got = 0;
    int rc = 0;
    while (got < size) {
        ssize_t r = pread(fd, text + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rc = nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot read key file %s: %s", path,
                                  r < 0 ? strerror(errno) : "it shrank while read");
            break;
        }
        got += (size_t)r;
    }
    text[got] = '\0';
    size_t n = 0;
    char *next = text;
    for (int lineno = 1; rc == 0 && next && *next; lineno++) {
        char *line = next;
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r') {
            line[--len] = '\0';
        }
        if (len > LINE_MAX_LEN) {
            rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s:%d: line too long", path,
                                  lineno);
            break;
        }
        const char *p = line + strspn(line, " \t");
        if (*p == '\0' || *p == '#') {
            continue;
        }
        const char *why = NULL;
        if (n == NIMBUS_KEYS_MAX) {
            rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s:%d: more than %d keys", path,
                                  lineno, NIMBUS_KEYS_MAX);
        } else if (parse_line(line, &keys[n], &why) != 0) {
            rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s:%d: %s", path, lineno, why);
        } else {
            for (size_t i = 0; i < n; i++) {
                if (strcmp(keys[i].name, keys[n].name) == 0) {
                    rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                          "%s:%d: key '%s' is in the file twice", path, lineno,
                                          keys[n].name);
                }
            }
            n++;
        }
    }
    OPENSSL_cleanse(text, size + 1);
    free(text);
    if (rc != 0) {
        OPENSSL_cleanse(keys, NIMBUS_KEYS_MAX * sizeof *keys);
        free(keys);
        return -1;
    }
    *entries = keys;
    *count = n;
    return 0;
}

int nimbus_key_file_read(const char *path, nimbus_key_entry_t **entries, size_t *count,
                         nimbus_error_t *err)
{
    *entries = NULL;
    *count = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot read key file %s: %s", path,
                                strerror(errno));
    }
    int rc = nimbus_key_file_read_fd(fd, path, entries, count, err);
    close(fd);
    return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int nimbus_key_file_write(const char *path, const nimbus_key_entry_t *entries, size_t count,
                          nimbus_error_t *err)
{
    char tmp[PATH_MAX + 16];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "key file path too long");
    }
    /* mkstemp makes it 0600 whatever the umask. */
    int fd = mkstemp(tmp);
    if (fd < 0) {
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot write beside key file %s: %s",
                                path, strerror(errno));
    }
    struct stat old;
    if (stat(path, &old) == 0) {
        /* Whoever the server runs as read the file before: it still may. */
        if ((old.st_uid != geteuid() || old.st_gid != getegid()) &&
            fchown(fd, old.st_uid, old.st_gid) != 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                                    "cannot give the new key file %s's owner: %s", path,
                                    strerror(e));
        }
        if (fchmod(fd, old.st_mode & 0770) != 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot set the mode of %s: %s", tmp,
                                    strerror(e));
        }
    }
    static const char head[] =
        "# Nimbus API keys (nimbus keys add|list|remove --keys FILE). One key a line:\n"
        "#   NAME ROLE sha256:SALT:HASH ADDED\n"
        "# HASH is SHA-256 of SALT then the secret, both in hex; the secret itself is\n"
        "# never stored. A running server reads this file again at SIGHUP.\n";
    int rc = write_all(fd, head, sizeof head - 1);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const nimbus_key_entry_t *e = &entries[i];
        char salt[2 * NIMBUS_KEY_SALT_SIZE + 1], hash[2 * NIMBUS_KEY_HASH_SIZE + 1];
        hex_encode(e->salt, sizeof e->salt, salt);
        hex_encode(e->hash, sizeof e->hash, hash);
        char line[LINE_MAX_LEN];
        int len = snprintf(line, sizeof line, "%s %s " SCHEME "%s:%s%s%s\n", e->name,
                           nimbus_role_name(e->role), salt, hash, e->added[0] ? " " : "", e->added);
        rc = len > 0 && len < (int)sizeof line ? write_all(fd, line, (size_t)len) : -1;
    }
    if (rc == 0) {
        rc = fsync(fd);
    }
    int e = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot write key file %s: %s", path,
                                strerror(e));
    }
    /* The rename itself lasts once the directory is on disk. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}
