/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `nimbus keys`: the key file's editor.
 *
 *     nimbus keys add NAME ROLE --keys FILE    prints the new secret, once
 *     nimbus keys list --keys FILE
 *     nimbus keys remove NAME --keys FILE
 *
 * FILE may instead come from the `keys` setting of --config FILE. A new
 * file is made 0600; an existing one keeps its owner and mode, so a server
 * running as another user still reads it. Edits hold an exclusive flock on
 * the file for the read-modify-write, so two at once do not lose a key.
 * A running server takes the change at its next SIGHUP (systemctl reload
 * nimbus).
 *
 * Exit codes: 0 done, 1 the file could not be read or written (or has no
 * such key), 2 bad usage. Messages are for a person at a terminal: plain,
 * on stderr; only the secret goes to stdout, so `$(nimbus keys add ...)`
 * captures it alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "server_internal.h"

static void keys_usage(FILE *out)
{
    fprintf(out, "Usage: nimbus keys add NAME ROLE (--keys FILE | --config FILE)\n"
                 "       nimbus keys list (--keys FILE | --config FILE)\n"
                 "       nimbus keys remove NAME (--keys FILE | --config FILE)\n"
                 "ROLE is read, write or admin. `add` prints the key's new secret once: keep\n"
                 "it then. A running server takes a change at SIGHUP (systemctl reload "
                 "nimbus).\n");
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nimbus keys: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A key file root makes in a directory that belongs to another user (the
 * service's state directory) is given to that user, who must read it. */
static void give_to_directory_owner(int fd, const char *path)
{
    char dir[sizeof((nimbus_config_t *)0)->keys_file];
    snprintf(dir, sizeof dir, "%s", path);
    struct stat st;
    if (geteuid() == 0 && stat(dirname(dir), &st) == 0 && st.st_uid != 0 &&
        fchown(fd, st.st_uid, st.st_gid) != 0) {
        say("cannot give %s to the owner of its directory: %s", path, strerror(errno));
    }
}

/* Opens path locked (exclusive to edit, shared to list), making it (0600)
 * when create. The lock is on the file that is there after it was taken:
 * an edit that replaced it meanwhile is waited for, then its file taken. */
static int open_locked(const char *path, bool edit, bool create)
{
    for (int tries = 0; tries < 100; tries++) {
        int fd = create ? open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600) : -1;
        if (fd >= 0) {
            give_to_directory_owner(fd, path);
        } else if (!create || errno == EEXIST) {
            fd = open(path, (edit ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        }
        if (fd < 0) {
            return -1;
        }
        if (flock(fd, edit ? LOCK_EX : LOCK_SH) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_dev == now.st_dev &&
            held.st_ino == now.st_ino) {
            return fd;
        }
        close(fd); /* replaced while we waited: take the new one */
    }
    errno = EAGAIN;
    return -1;
}

/* Opens path locked (as open_locked) and reads its keys, the start every
 * command shares. Returns the descriptor, the caller's to close (the lock
 * lasts until then, so an edit writes under it), with *keys (*count of them,
 * room for NIMBUS_KEYS_MAX) the caller's to free. -1 when the file cannot be
 * opened or read: then why has been said, and nothing is left open or to
 * free. */
static int read_locked(const char *path, bool edit, bool create, nimbus_key_entry_t **keys,
                       size_t *count)
{
    int fd = open_locked(path, edit, create);
    if (fd < 0) {
        say("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    nimbus_error_t err;
    nimbus_error_clear(&err);
    if (nimbus_key_file_read_fd(fd, path, keys, count, &err) != 0) {
        say("%s", err.message);
        free(*keys);
        *keys = NULL;
        close(fd);
        return -1;
    }
    return fd;
}

static void now_utc(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmd_add(const char *path, const char *name, const char *role_name)
{
    nimbus_role_t role;
    if (!nimbus_key_name_valid(name)) {
        say("a key's name must be 1-%d characters of A-Z, a-z, 0-9, '.', '_' and '-', not '%s'",
            NIMBUS_KEY_NAME_MAX, name);
        return 2;
    }
    if (!nimbus_role_from_name(role_name, &role)) {
        say("ROLE must be read, write or admin, not '%s'", role_name);
        return 2;
    }
    nimbus_key_entry_t *keys = NULL;
    size_t count = 0;
    int fd = read_locked(path, true, true, &keys, &count);
    if (fd < 0) {
        return 1;
    }
    nimbus_error_t err;
    nimbus_error_clear(&err);
    int rc = 1;
    char secret[NIMBUS_KEY_NEW_SECRET_LEN + 1] = "";
    for (size_t i = 0; i < count; i++) {
        if (strcmp(keys[i].name, name) == 0) {
            say("%s already has a key named '%s' (remove it first to replace it)", path, name);
            goto out;
        }
    }
    if (count == NIMBUS_KEYS_MAX) {
        say("%s holds %d keys already, the most there can be", path, NIMBUS_KEYS_MAX);
        goto out;
    }
    if (nimbus_key_secret_new(secret, &err) != 0 ||
        nimbus_key_entry_make(name, role, secret, &keys[count], &err) != 0) {
        say("%s", err.message);
        goto out;
    }
    now_utc(keys[count].added);
    if (nimbus_key_file_write(path, keys, count + 1, &err) != 0) {
        say("%s", err.message);
        goto out;
    }
    printf("%s\n", secret);
    fflush(stdout);
    say("added key '%s' (%s) to %s. The secret above is shown this once and stored nowhere: "
        "keep it now. A running server takes the key at SIGHUP (systemctl reload nimbus).",
        name, nimbus_role_name(role), path);
    rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof secret);
    free(keys);
    close(fd);
    return rc;
}

static int cmd_list(const char *path)
{
    nimbus_key_entry_t *keys = NULL;
    size_t count = 0;
    int fd = read_locked(path, false, false, &keys, &count);
    if (fd < 0) {
        return 1;
    }
    close(fd); /* read whole: the shared lock is no longer needed */
    if (count == 0) {
        say("%s holds no keys", path);
    } else {
        int width = 4;
        for (size_t i = 0; i < count; i++) {
            int n = (int)strlen(keys[i].name);
            width = n > width ? n : width;
        }
        printf("%-*s  %-5s  %s\n", width, "NAME", "ROLE", "ADDED");
        for (size_t i = 0; i < count; i++) {
            printf("%-*s  %-5s  %s\n", width, keys[i].name, nimbus_role_name(keys[i].role),
                   keys[i].added[0] ? keys[i].added : "-");
        }
    }
    free(keys);
    return 0;
}

static int cmd_remove(const char *path, const char *name)
{
    nimbus_key_entry_t *keys = NULL;
    size_t count = 0;
    int fd = read_locked(path, true, false, &keys, &count);
    if (fd < 0) {
        return 1;
    }
    nimbus_error_t err;
    nimbus_error_clear(&err);
    int rc = 1;
    size_t at = count;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(keys[i].name, name) == 0) {
            at = i;
        }
    }
    if (at == count) {
        say("%s has no key named '%s'", path, name);
        goto out;
    }
    memmove(&keys[at], &keys[at + 1], (count - at - 1) * sizeof keys[0]);
    if (nimbus_key_file_write(path, keys, count - 1, &err) != 0) {
        say("%s", err.message);
        goto out;
    }
    say("removed key '%s' from %s. A running server refuses it from its next SIGHUP "
        "(systemctl reload nimbus).",
        name, path);
    rc = 0;
out:
    free(keys);
    close(fd);
    return rc;
}

int nimbus__keys_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"keys", required_argument, NULL, 'k'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keys_path = NULL, *config_path = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keys_path = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            keys_usage(stdout);
            return 0;
        default:
            say("unknown or incomplete option '%s'", argv[optind - 1]);
            keys_usage(stderr);
            return 2;
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    const char *cmd = nargs > 0 ? args[0] : "";
    int want = strcmp(cmd, "add") == 0      ? 3
               : strcmp(cmd, "list") == 0   ? 1
               : strcmp(cmd, "remove") == 0 ? 2
                                            : 0;
    if (want == 0 || nargs != want) {
        if (nargs == 0) {
            say("a command is needed: add, list or remove");
        } else if (want == 0) {
            say("unknown command '%s'", cmd);
        } else {
            say("'%s' takes %d argument%s", cmd, want - 1, want == 2 ? "" : "s");
        }
        keys_usage(stderr);
        return 2;
    }
    static nimbus_config_t config; /* large */
    char path[sizeof config.keys_file];
    if (keys_path) {
        snprintf(path, sizeof path, "%s", keys_path);
    } else if (config_path) {
        if (nimbus__config_read(config_path, &config) != 0) {
            return 2;
        }
        if (!*config.keys_file) {
            say("%s sets no keys file (keys = FILE)", config_path);
            return 2;
        }
        snprintf(path, sizeof path, "%s", config.keys_file);
        OPENSSL_cleanse(config.api_keys, sizeof config.api_keys);
    } else {
        say("which key file? --keys FILE, or --config FILE with a keys setting");
        keys_usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "add") == 0) {
        return cmd_add(path, args[1], args[2]);
    }
    if (strcmp(cmd, "list") == 0) {
        return cmd_list(path);
    }
    return cmd_remove(path, args[1]);
}
