// stream-floor: the least CPU a client spends reading a streamed chat completion, for Benchmarks/run.
//
//     stream-floor PORT PROBES CONCURRENT
//
// One thread and epoll, nothing else: each probe connects to 127.0.0.1:PORT, POSTs a streaming chat
// completion, reads whatever arrives until the bytes "[DONE]" (the stream's end) and closes. It parses
// nothing and records nothing, so its CPU per probe is what waking up for each chunk costs on this machine:
// the floor under any prober that sees every chunk as it arrives. After 20 probes of warm-up it prints
//     cpu_ms_per_probe=F reads_per_probe=F failed=N
// where the CPU is the process's user + system time (getrusage) over PROBES probes, CONCURRENT at a time.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct probe {
    int fd;
    int sent;
    int ended;
    long reads;
};

static int port, epollFD;
static char request[512];
static int requestLength;

static int start(void) {
    struct probe *p = calloc(1, sizeof *p);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (connect(p->fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) {
        close(p->fd);
        free(p);
        return -1;
    }
    struct epoll_event event = {.events = EPOLLOUT | EPOLLIN, .data.ptr = p};
    epoll_ctl(epollFD, EPOLL_CTL_ADD, p->fd, &event);
    return 0;
}

static double cpuMilliseconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3
        + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

// Runs `total` probes, `concurrent` at a time; returns the failed ones, adds the reads to `reads`.
static int run(int total, int concurrent, long *reads) {
    int started = 0, finished = 0, failed = 0;
    for (; started < concurrent && started < total; started++) {
        if (start() != 0) failed++, finished++;
    }
    char buffer[16384];
    struct epoll_event events[64];
    while (finished < total) {
        int ready = epoll_wait(epollFD, events, 64, -1);
        if (ready < 0 && errno == EINTR) continue;
        for (int i = 0; i < ready; i++) {
            struct probe *p = events[i].data.ptr;
            if (!p->sent) {
                int done = write(p->fd, request, requestLength) == requestLength;
                p->sent = 1;
                struct epoll_event event = {.events = EPOLLIN, .data.ptr = p};
                epoll_ctl(epollFD, EPOLL_CTL_MOD, p->fd, &event);
                if (done) continue;
            } else {
                ssize_t count = read(p->fd, buffer, sizeof buffer);
                if (count < 0 && errno == EAGAIN) continue;
                if (count > 0) {
                    p->reads++;
                    // "[DONE]" may be split over two reads only in theory: the simulator writes each event whole
                    p->ended = memmem(buffer, count, "[DONE]", 6) != NULL;
                    if (!p->ended) continue;
                }
            }
            if (!p->ended) failed++;
            *reads += p->reads;
            close(p->fd);
            free(p);
            finished++;
            if (started < total) {
                started++;
                if (start() != 0) failed++, finished++;
            }
        }
    }
    return failed;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: stream-floor PORT PROBES CONCURRENT\n");
        return 2;
    }
    port = atoi(argv[1]);
    int total = atoi(argv[2]), concurrent = atoi(argv[3]);
    const char *body = "{\"model\":\"m0\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}],"
                       "\"max_tokens\":20,\"stream\":true}";
    requestLength = snprintf(request, sizeof request,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", port, strlen(body), body);
    epollFD = epoll_create1(0);
    long reads = 0;
    run(20, concurrent, &reads);
    reads = 0;
    double before = cpuMilliseconds();
    int failed = run(total, concurrent, &reads);
    double spent = cpuMilliseconds() - before;
    printf("cpu_ms_per_probe=%.4f reads_per_probe=%.2f failed=%d\n", spent / total, (double)reads / total, failed);
    return 0;
}
