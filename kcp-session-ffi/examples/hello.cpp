// The shortest kcptun-compatible client: dials a kcp-go server with kcptun's defaults
// (aes, FEC 10/3, mode fast), sends one line and prints what comes back within 5 s.
// usage: hello IPV4 PORT KEY
#include <arpa/inet.h>
#include <poll.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <kcp_session.h>

static std::uint32_t now() {
    using namespace std::chrono;
    return std::uint32_t(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

int main(int argc, char **argv) {
    kcps_config *cfg = kcps_config_new_kcptun();
    kcps_endpoint *ep = nullptr;
    kcps_addr server{KCPS_AF_INET, std::uint16_t(argc == 4 ? std::atoi(argv[2]) : 0), 0, {}};
    if (argc != 4 || inet_pton(AF_INET, argv[1], server.ip) != 1 ||
        kcps_config_set(cfg, "key", argv[3], nullptr, 0) != KCPS_OK ||
        kcps_endpoint_new(cfg, &ep, nullptr, 0) != KCPS_OK)
        return std::fprintf(stderr, "usage: hello IPV4 PORT KEY\n"), 2;
    kcps_config_free(cfg);
    sockaddr_in to{};  // one peer: a connected UDP socket needs no addresses below
    to.sin_family = AF_INET;
    to.sin_port = htons(server.port);
    std::memcpy(&to.sin_addr, server.ip, 4);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    kcps_session s;
    if (connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) != 0 ||
        kcps_connect(ep, now(), &server, &s) != KCPS_OK || kcps_send(ep, now(), s, "hello\n", 6) != 6)
        return std::perror("hello"), 1;
    char buf[1500];
    std::int64_t n;
    for (std::uint32_t start = now(); (n = kcps_recv(ep, s, buf, sizeof buf)) == KCPS_E_WOULD_BLOCK;) {
        kcps_transmit t;
        while (kcps_poll_transmit(ep, now(), &t) == 1)
            for (std::size_t off = 0; off < t.len; off += t.segment_size)
                send(fd, t.data + off, std::min(t.segment_size, t.len - off), 0);
        pollfd p{fd, POLLIN, 0};
        poll(&p, 1, 10);
        for (ssize_t len; (len = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0;)
            kcps_handle(ep, now(), &server, reinterpret_cast<std::uint8_t *>(buf), std::size_t(len), nullptr);
        kcps_handle_timeout(ep, now());
        if (now() - start > 5000) return std::fprintf(stderr, "hello: no answer\n"), 1;
    }
    if (n > 0) std::printf("%.*s", int(n), buf);
    kcps_endpoint_free(ep);
    return n > 0 ? 0 : 1;
}
