/*
 * hilboard-emu: the reference firmware on the host. Serves the protocol on a pseudo-terminal
 * so a host talks to it exactly as to a board on a serial port. The only POSIX file.
 */
#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "hb_core.h"

#define POLL_MS 10       /* how late the lease may be enforced while the host is silent */
#define WRITE_GIVE_UP_MS 2000

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static uint32_t monotonic_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static void sleep_ms(void *ctx, uint32_t ms)
{
    struct timespec ts;
    (void)ctx;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_requested) {
    }
}

static const char *command_name(uint8_t c)
{
    static const char *const names[] = { "?", "HELLO", "SET_OP", "GET_TELEMETRY", "WRITE", "READ",
                                         "FILL", "COMPARE", "LEASE", "RESET" };
    return c < sizeof names / sizeof names[0] ? names[c] : "?";
}

/* Errors and lease expiry only: a line per request would drown them. */
static void log_event(void *ctx, hb_event ev, uint16_t id, uint8_t command, const uint8_t *body, size_t len)
{
    (void)ctx;
    (void)body;
    (void)len;
    switch (ev) {
    case HB_EV_GARBAGE:
        fprintf(stderr, "hilboard-emu: discarded a garbage frame\n");
        break;
    case HB_EV_TOO_LONG:
        fprintf(stderr, "hilboard-emu: discarded more than %u bytes without a delimiter\n", HB_MAX_ENCODED);
        break;
    case HB_EV_NOT_REQUEST:
        fprintf(stderr, "hilboard-emu: discarded a frame with flags other than 0 (id %u)\n", id);
        break;
    case HB_EV_BAD_CRC:
        fprintf(stderr, "hilboard-emu: bad CRC (id %u, %s): answered BAD_CRC\n", id, command_name(command));
        break;
    case HB_EV_BAD_LENGTH:
        fprintf(stderr, "hilboard-emu: bad length (id %u, %s): answered BAD_LENGTH\n", id, command_name(command));
        break;
    case HB_EV_BAD_VERSION:
        fprintf(stderr, "hilboard-emu: protocol version not spoken (id %u): answered BAD_VERSION\n", id);
        break;
    case HB_EV_LEASE_EXPIRED:
        fprintf(stderr, "hilboard-emu: lease expired: back to the nominal point\n");
        break;
    case HB_EV_HAL_ERROR:
        fprintf(stderr, "hilboard-emu: hardware layer failed (id %u, %s)\n", id, command_name(command));
        break;
    case HB_EV_REPLAYED:
        fprintf(stderr, "hilboard-emu: retried request id %u (%s): resent the remembered reply\n", id,
                command_name(command));
        break;
    case HB_EV_REQUEST:
    default:
        break;
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hilboard-emu [--seed N] [--profile FILE] [--truth FILE] [--lease-ms N] [--settle-ms N] [--destructive]\n"
               "Emulates an undervolted SRAM board speaking the HilBench board protocol on a pseudo-terminal.\n"
               "Prints 'PTY /dev/pts/N' as the first line on stdout, then serves until SIGTERM or SIGINT.\n");
}

static int parse_uint(const char *opt, const char *text, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v;

    errno = 0;
    if (text == NULL || text[0] < '0' || text[0] > '9') {
        fprintf(stderr, "hilboard-emu: %s needs a non-negative whole number\n", opt);
        return -1;
    }
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        fprintf(stderr, "hilboard-emu: %s: '%s' is not a whole number in 0..%llu\n", opt, text, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Writes a whole reply. Gives up (and says so) if the host stops reading for WRITE_GIVE_UP_MS. */
static void write_all(int fd, const uint8_t *p, size_t n)
{
    uint32_t start = monotonic_ms(NULL);

    while (n > 0 && !stop_requested) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != EIO) {
            fprintf(stderr, "hilboard-emu: write to the pty failed: %s; reply dropped\n", strerror(errno));
            return;
        }
        if ((uint32_t)(monotonic_ms(NULL) - start) > WRITE_GIVE_UP_MS) {
            fprintf(stderr, "hilboard-emu: nobody reads the pty; dropped %lu bytes of a reply\n", (unsigned long)n);
            return;
        }
        {
            struct pollfd pfd;
            pfd.fd = fd;
            pfd.events = POLLOUT;
            pfd.revents = 0;
            if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
                return;
            if (pfd.revents & (POLLHUP | POLLERR))
                sleep_ms(NULL, 20);
        }
    }
}

static int make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0)
        return -1;
    cfmakeraw(&t);
    return tcsetattr(fd, TCSANOW, &t);
}

int main(int argc, char **argv)
{
    static emu_board board;
    static hb_core core;
    emu_params params;
    const char *profile = NULL, *truth = NULL;
    unsigned long long seed = 0, lease = 0, settle = 0;
    int have_seed = 0, have_lease = 0, have_settle = 0, destructive = 0;
    char err[512];
    int master = -1, slave = -1, i;
    char name[256];
    struct sigaction sa;
    uint8_t buf[4096];

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--destructive") == 0) {
            destructive = 1;
            continue;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_uint(a, v, UINT64_MAX, &seed) != 0)
                return 2;
            have_seed = 1;
        } else if (strcmp(a, "--lease-ms") == 0) {
            if (parse_uint(a, v, HB_LEASE_MAX_MS, &lease) != 0)
                return 2;
            if (lease < HB_LEASE_MIN_MS) {
                fprintf(stderr, "hilboard-emu: --lease-ms must be %u..%u\n", HB_LEASE_MIN_MS, HB_LEASE_MAX_MS);
                return 2;
            }
            have_lease = 1;
        } else if (strcmp(a, "--settle-ms") == 0) {
            if (parse_uint(a, v, 65535, &settle) != 0)
                return 2;
            have_settle = 1;
        } else if (strcmp(a, "--profile") == 0 || strcmp(a, "--truth") == 0) {
            if (v == NULL || v[0] == '\0') {
                fprintf(stderr, "hilboard-emu: %s needs a file name\n", a);
                return 2;
            }
            if (strcmp(a, "--profile") == 0)
                profile = v;
            else
                truth = v;
        } else {
            fprintf(stderr, "hilboard-emu: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }

    emu_params_default(&params);
    if (profile != NULL && emu_params_load(&params, profile, err, sizeof err) != 0) {
        fprintf(stderr, "hilboard-emu: %s\n", err);
        return 2;
    }
    if (have_seed)
        params.seed = seed;
    if (have_lease)
        params.lease_ms = (uint32_t)lease;
    if (have_settle)
        params.settle_ms = (uint32_t)settle;
    params.destructive = destructive;
    if (emu_params_check(&params, err, sizeof err) != 0) {
        fprintf(stderr, "hilboard-emu: %s%s%s\n", profile ? profile : "", profile ? ": " : "", err);
        return 2;
    }
    if (emu_board_init(&board, &params, monotonic_ms, sleep_ms, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "hilboard-emu: %s\n", err);
        return 2;
    }
    board.hal.event = log_event;
    if (truth != NULL) {
        FILE *f = fopen(truth, "w");
        if (f == NULL || emu_chip_write_truth(&board.chip, f) != 0 || fclose(f) != 0) {
            fprintf(stderr, "hilboard-emu: cannot write the truth file %s: %s\n", truth, strerror(errno));
            return 2;
        }
    }
    if (hb_core_init(&core, &board.hal) != 0) {
        fprintf(stderr, "hilboard-emu: the board description is not expressible in protocol version 1\n");
        return 2;
    }

    if (openpty(&master, &slave, name, NULL, NULL) != 0) {
        fprintf(stderr, "hilboard-emu: openpty failed: %s\n", strerror(errno));
        return 1;
    }
    /*
     * The slave stays open here for the whole run: without it the master reports hangup (EIO)
     * every time the host closes the port, and a host could not reconnect.
     */
    if (make_raw(slave) != 0 || make_raw(master) != 0) {
        fprintf(stderr, "hilboard-emu: cannot put the pty in raw mode: %s\n", strerror(errno));
        return 1;
    }
    if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) != 0) {
        fprintf(stderr, "hilboard-emu: cannot make the pty non-blocking: %s\n", strerror(errno));
        return 1;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("PTY %s\n", name);
    fflush(stdout);
    fprintf(stderr, "hilboard-emu: seed %llu, %u x %u x %u bits, %lu weak cells, lease %u ms, on %s\n",
            (unsigned long long)params.seed, (unsigned)params.blocks, (unsigned)params.rows,
            (unsigned)params.bits_per_row, (unsigned long)board.chip.count, (unsigned)params.lease_ms, name);

    while (!stop_requested) {
        struct pollfd pfd;
        int r;

        pfd.fd = master;
        pfd.events = POLLIN;
        pfd.revents = 0;
        r = poll(&pfd, 1, POLL_MS);
        hb_core_poll(&core);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "hilboard-emu: poll failed: %s\n", strerror(errno));
            break;
        }
        if (r == 0)
            continue;
        if (pfd.revents & POLLIN) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n > 0) {
                ssize_t k;
                for (k = 0; k < n; k++) {
                    const uint8_t *reply = NULL;
                    size_t len = hb_core_feed(&core, buf[k], &reply);
                    if (len > 0)
                        write_all(master, reply, len);
                }
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                continue;
        }
        /* Hangup or EIO: no host on the other side right now. Wait for one to open the port. */
        sleep_ms(NULL, 50);
    }
    fprintf(stderr, "hilboard-emu: stopped\n");
    close(master);
    close(slave);
    emu_board_free(&board);
    return 0;
}
