// A kcp-go echo client and echo server in C++11 on kcp_session.h, over one UDP socket
// (IPv4); the same command line and output as echo.c, so either talks to the other:
//
//   echo_cpp listen PORT BYTES [NAME=VALUE ...]     echo BYTES bytes of one session, then exit
//   echo_cpp dial IPV4 PORT BYTES [NAME=VALUE ...]  send BYTES bytes, check the echo, exit
//
// Errors are exceptions: main prints them and exits 1.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <kcp_session.h>

namespace {

std::uint32_t now_ms() {
    using namespace std::chrono;
    return static_cast<std::uint32_t>(
        duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

std::int64_t check(std::int64_t r, const char *what) {
    if (r < 0) throw std::runtime_error(std::string(what) + ": " + kcps_strerror(int(r)));
    return r;
}

std::uint8_t pattern(std::size_t i) {
    return std::uint8_t(((i * 2654435761u) >> 24) ^ (i >> 13));
}

// An endpoint made from kcptun-style NAME=VALUE options, freed with its owner.
using Endpoint = std::unique_ptr<kcps_endpoint, void (*)(kcps_endpoint *)>;

Endpoint make_endpoint(char **options, int count) {
    std::unique_ptr<kcps_config, void (*)(kcps_config *)> cfg(kcps_config_new(), kcps_config_free);
    char msg[256] = "";
    for (int i = 0; i < count; i++) {
        std::string opt(options[i]);
        std::size_t eq = opt.find('=');
        if (eq == std::string::npos ||
            kcps_config_set(cfg.get(), opt.substr(0, eq).c_str(), opt.c_str() + eq + 1, msg,
                            sizeof msg) != KCPS_OK)
            throw std::runtime_error(opt + ": " + msg);
    }
    kcps_endpoint *ep = nullptr;
    if (kcps_endpoint_new(cfg.get(), &ep, msg, sizeof msg) != KCPS_OK)
        throw std::runtime_error(msg);
    return Endpoint(ep, kcps_endpoint_free);
}

int run(int argc, char **argv) {
    bool dial = argc >= 5 && std::strcmp(argv[1], "dial") == 0;
    if (!dial && !(argc >= 4 && std::strcmp(argv[1], "listen") == 0))
        throw std::runtime_error("usage: listen PORT BYTES | dial IPV4 PORT BYTES [NAME=VALUE ...]");
    int first = dial ? 5 : 4;
    std::size_t total = std::strtoull(argv[first - 1], nullptr, 10), sent = 0, got = 0;
    Endpoint ep = make_endpoint(argv + first, argc - first);

    int fd = socket(AF_INET, SOCK_DGRAM, 0), sockbuf = 4 << 20;
    // kcptun's --sockbuf: room for the bursts a full window sends (the kernel may cap it).
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof sockbuf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof sockbuf);
    sockaddr_in sa{};
    socklen_t salen = sizeof sa;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(dial ? 0 : std::uint16_t(std::atoi(argv[2])));
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0)
        throw std::runtime_error("cannot bind a UDP socket");
    kcps_session s = 0;
    if (dial) {
        kcps_addr peer{};
        peer.family = KCPS_AF_INET;
        peer.port = std::uint16_t(std::atoi(argv[3]));
        if (inet_pton(AF_INET, argv[2], peer.ip) != 1) throw std::runtime_error("bad IPv4");
        check(kcps_connect(ep.get(), now_ms(), &peer, &s), "connect");
    } else {
        kcps_listen(ep.get(), 1);
        getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &salen);
        std::printf("listening 127.0.0.1:%u\n", unsigned(ntohs(sa.sin_port)));
        std::fflush(stdout);
    }

    std::vector<std::uint8_t> buf(65536);
    bool closed = false;
    for (std::uint32_t start = now_ms(); now_ms() - start < 60000;) {
        if (!dial && s == 0 && kcps_accept(ep.get(), &s) == 1) std::puts("accepted");
        // The dialer writes the pattern; the listener reads what it can write back at once.
        std::int64_t room, n;
        while (s != 0 && !closed && (room = check(kcps_send_capacity(ep.get(), s), "send")) > 0) {
            std::size_t len = std::min<std::size_t>(std::size_t(room), buf.size());
            if (dial) {
                len = std::min(len, total - sent);
                if (len == 0) break;
                for (std::size_t k = 0; k < len; k++) buf[k] = pattern(sent + k);
                n = std::int64_t(len);
            } else if ((n = kcps_recv(ep.get(), s, buf.data(), len)) == KCPS_E_WOULD_BLOCK) {
                break;
            }
            if (check(kcps_send(ep.get(), now_ms(), s, buf.data(), std::size_t(check(n, "recv"))),
                      "send") != n)
                throw std::runtime_error("send took less than its capacity");
            sent += std::size_t(n);
        }
        while (dial && (n = kcps_recv(ep.get(), s, buf.data(), buf.size())) > 0) {
            for (std::int64_t i = 0; i < n; i++)
                if (buf[std::size_t(i)] != pattern(got + std::size_t(i)))
                    throw std::runtime_error("the echo differs");
            got += std::size_t(n);
        }
        // Done: close, and exit once what was written is acknowledged.
        if (s != 0 && !closed && (dial ? got : sent) == total) {
            kcps_close(ep.get(), now_ms(), s);
            closed = true;
        }
        kcps_event ev;
        while (kcps_poll_event(ep.get(), &ev) == 1) {
            if (ev.kind != KCPS_EVENT_ENDED || ev.session != s) continue;
            if (!closed) throw std::runtime_error("the session ended early");
            if (dial) std::printf("ok bytes=%zu\n", got);
            close(fd);
            return 0;
        }
        // The socket: send what is ready, wait for datagrams or the next timer (<= 10 ms).
        kcps_transmit t;
        while (kcps_poll_transmit(ep.get(), now_ms(), &t) == 1) {
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_port = htons(t.destination.port);
            std::memcpy(&to.sin_addr, t.destination.ip, 4);
            for (std::size_t off = 0; off < t.len; off += t.segment_size)
                sendto(fd, t.data + off, std::min(t.segment_size, t.len - off), 0,
                       reinterpret_cast<sockaddr *>(&to), sizeof to);
        }
        std::uint32_t at = now_ms() + 10;
        kcps_poll_timeout(ep.get(), &at);
        std::int32_t wait = std::int32_t(at - now_ms());
        pollfd p{fd, POLLIN, 0};
        poll(&p, 1, wait < 0 ? 0 : std::min(wait, 10));
        ssize_t len;
        while ((len = recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr *>(&sa), &salen)) > 0) {
            kcps_addr from{};
            from.family = KCPS_AF_INET;
            from.port = ntohs(sa.sin_port);
            std::memcpy(from.ip, &sa.sin_addr, 4);
            kcps_handle(ep.get(), now_ms(), &from, buf.data(), std::size_t(len), nullptr);
            salen = sizeof sa;
        }
        kcps_handle_timeout(ep.get(), now_ms());
    }
    throw std::runtime_error("timed out after 60 s");
}

} // namespace

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "echo_cpp: %s\n", e.what());
        return 1;
    }
}
