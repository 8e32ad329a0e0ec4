// kcp_session.h from C++11 under GoogleTest: config errors with their messages, two
// endpoints moving 1 MiB each way (byte-checked) over an in-memory link, clean and with
// one datagram in 20 lost, and hostile calls (NULLs, handles of other and freed
// endpoints, lengths no buffer can have, two threads on one endpoint) getting error codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <kcp_session.h>

namespace {

kcps_addr loopback(std::uint16_t port) {
    kcps_addr a{};
    a.family = KCPS_AF_INET;
    a.port = port;
    a.ip[0] = 127;
    a.ip[3] = 1;
    return a;
}

std::uint8_t pattern(std::size_t i) {
    return std::uint8_t(((i * 2654435761u) >> 24) ^ (i >> 13));
}

// A config from NAME=VALUE pairs; every one must be accepted.
kcps_config *config(const std::vector<std::pair<std::string, std::string>> &options) {
    kcps_config *cfg = kcps_config_new();
    char msg[128];
    for (const auto &o : options)
        EXPECT_EQ(kcps_config_set(cfg, o.first.c_str(), o.second.c_str(), msg, sizeof msg),
                  KCPS_OK)
            << o.first << "=" << o.second << ": " << msg;
    return cfg;
}

kcps_endpoint *endpoint(const kcps_config *cfg) {
    kcps_endpoint *ep = nullptr;
    char msg[128] = "";
    EXPECT_EQ(kcps_endpoint_new(cfg, &ep, msg, sizeof msg), KCPS_OK) << msg;
    return ep;
}

// Moves every datagram `from` has ready into `to`, dropping those `lose` picks; counts
// what it dropped.
std::size_t deliver(kcps_endpoint *from, const kcps_addr &from_addr, kcps_endpoint *to,
                    std::uint32_t now, std::size_t &serial, std::size_t lose_every) {
    std::vector<std::vector<std::uint8_t>> datagrams;
    kcps_transmit t;
    while (kcps_poll_transmit(from, now, &t) == 1)
        for (std::size_t off = 0; off < t.len; off += t.segment_size)
            datagrams.emplace_back(t.data + off, t.data + std::min(t.len, off + t.segment_size));
    std::size_t lost = 0;
    for (auto &d : datagrams) {
        if (lose_every != 0 && ++serial % lose_every == 0) {
            lost++;
            continue;
        }
        EXPECT_GE(kcps_handle(to, now, &from_addr, d.data(), d.size(), nullptr), 0);
    }
    return lost;
}

std::uint64_t snmp(const kcps_endpoint *ep, kcps_session s, const char *name) {
    std::vector<std::uint64_t> v(kcps_snmp_count());
    EXPECT_EQ(kcps_session_snmp(ep, s, v.data(), v.size()), int(v.size()));
    for (std::size_t i = 0; i < v.size(); i++)
        if (std::strcmp(kcps_snmp_name(i), name) == 0) return v[i];
    ADD_FAILURE() << "no counter " << name;
    return 0;
}

TEST(Config, BadValuesGetInvalidAndAMessage) {
    kcps_config *cfg = kcps_config_new();
    ASSERT_NE(cfg, nullptr);
    char msg[128] = "";
    EXPECT_EQ(kcps_config_set(cfg, "crypt", "rot13", msg, sizeof msg), KCPS_E_INVALID);
    EXPECT_NE(std::string(msg).find("rot13"), std::string::npos) << msg;
    EXPECT_EQ(kcps_config_set(cfg, "mode", "warp", msg, sizeof msg), KCPS_E_INVALID);
    EXPECT_NE(std::string(msg).find("mode"), std::string::npos) << msg;
    EXPECT_EQ(kcps_config_set(cfg, "sndwnd", "lots", msg, sizeof msg), KCPS_E_INVALID);
    EXPECT_NE(std::string(msg).find("sndwnd"), std::string::npos) << msg;
    EXPECT_EQ(kcps_config_set(cfg, "colour", "1", msg, sizeof msg), KCPS_E_INVALID);
    EXPECT_STRNE(kcps_strerror(KCPS_E_INVALID), kcps_strerror(12345));
    // A message buffer of one byte gets just the NUL; no buffer at all is fine too.
    char tiny[1] = {'x'};
    EXPECT_EQ(kcps_config_set(cfg, "mtu", "-5", tiny, sizeof tiny), KCPS_E_INVALID);
    EXPECT_EQ(tiny[0], '\0');
    EXPECT_EQ(kcps_config_set(cfg, "mtu", "-5", nullptr, 0), KCPS_E_INVALID);

    // What only the whole config can judge fails when the endpoint is made: a cipher
    // without a key.
    EXPECT_EQ(kcps_config_set(cfg, "crypt", "aes", msg, sizeof msg), KCPS_OK);
    kcps_endpoint *ep = nullptr;
    EXPECT_EQ(kcps_endpoint_new(cfg, &ep, msg, sizeof msg), KCPS_E_INVALID);
    EXPECT_EQ(ep, nullptr);
    EXPECT_NE(std::string(msg).find("key"), std::string::npos) << msg;
    EXPECT_EQ(kcps_config_set(cfg, "key", "secret", msg, sizeof msg), KCPS_OK);
    EXPECT_EQ(kcps_endpoint_new(cfg, &ep, msg, sizeof msg), KCPS_OK) << msg;
    kcps_endpoint_free(ep);
    kcps_config_free(cfg);
}

// 1 MiB from a client through a listener that echoes it, checked byte for byte, with
// aes and FEC 10/3, on a virtual clock; `lose_every` drops one datagram in that many.
void echo_mib(std::size_t lose_every) {
    const std::size_t total = 1 << 20;
    kcps_config *cfg = config({{"crypt", "aes"}, {"key", "gtest"}, {"mode", "fast3"},
                               {"datashard", "10"}, {"parityshard", "3"}});
    kcps_endpoint *client = endpoint(cfg), *server = endpoint(cfg);
    kcps_config_free(cfg);
    ASSERT_TRUE(client != nullptr && server != nullptr);
    const kcps_addr client_addr = loopback(4000), server_addr = loopback(5000);
    ASSERT_EQ(kcps_listen(server, 1), KCPS_OK);
    kcps_session c = 0, s = 0;
    ASSERT_EQ(kcps_connect(client, 0, &server_addr, &c), KCPS_OK);

    std::vector<std::uint8_t> buf(65536);
    std::size_t sent = 0, echoed = 0, got = 0, serial = 0, lost = 0;
    std::uint32_t now = 0;
    for (; got < total && now < 600000; now += 5) {
        while (sent < total) {
            std::int64_t room = kcps_send_capacity(client, c);
            ASSERT_GE(room, 0);
            std::size_t n = std::min({std::size_t(room), buf.size(), total - sent});
            if (n == 0) break;
            for (std::size_t k = 0; k < n; k++) buf[k] = pattern(sent + k);
            ASSERT_EQ(kcps_send(client, now, c, buf.data(), n), std::int64_t(n));
            sent += n;
        }
        lost += deliver(client, client_addr, server, now, serial, lose_every);
        if (s == 0) kcps_accept(server, &s);
        std::int64_t room;
        while (s != 0 && (room = kcps_send_capacity(server, s)) > 0) {
            std::int64_t n = kcps_recv(server, s, buf.data(), std::min(buf.size(), std::size_t(room)));
            if (n == KCPS_E_WOULD_BLOCK) break;
            ASSERT_GT(n, 0);
            ASSERT_EQ(kcps_send(server, now, s, buf.data(), std::size_t(n)), n);
            echoed += std::size_t(n);
        }
        lost += deliver(server, server_addr, client, now, serial, lose_every);
        std::int64_t n;
        while ((n = kcps_recv(client, c, buf.data(), buf.size())) > 0) {
            for (std::int64_t k = 0; k < n; k++)
                ASSERT_EQ(buf[std::size_t(k)], pattern(got + std::size_t(k))) << "byte " << got + k;
            got += std::size_t(n);
        }
        ASSERT_EQ(n, KCPS_E_WOULD_BLOCK);
        ASSERT_EQ(kcps_handle_timeout(client, now), KCPS_OK);
        ASSERT_EQ(kcps_handle_timeout(server, now), KCPS_OK);
    }
    EXPECT_EQ(got, total) << "after " << now << " virtual ms";
    EXPECT_EQ(echoed, total);
    EXPECT_EQ(kcps_session_state(client, c), KCPS_STATE_OPEN);
    EXPECT_GE(snmp(server, s, "BytesReceived"), total);
    if (lose_every != 0) {
        EXPECT_GT(lost, 0u);
        // FEC repairs most losses; what it cannot is retransmitted.
        EXPECT_GT(snmp(client, c, "FECRecovered") + snmp(server, s, "FECRecovered"), 0u);
    } else {
        EXPECT_EQ(snmp(client, c, "RetransSegs"), 0u);
    }
    kcps_endpoint_free(client);
    kcps_endpoint_free(server);
}

TEST(Loopback, OneMiBEchoedByteForByte) { echo_mib(0); }

TEST(Loopback, OneMiBEchoedWithOneDatagramInTwentyLost) { echo_mib(20); }

TEST(Hostile, NullPointersGetNull) {
    kcps_session s = 0;
    kcps_addr a = loopback(1);
    std::uint8_t d[8] = {0};
    kcps_transmit t;
    kcps_event ev;
    std::uint32_t at;
    std::uint64_t v[4];
    EXPECT_EQ(kcps_config_set(nullptr, "mtu", "1", nullptr, 0), KCPS_E_NULL);
    EXPECT_EQ(kcps_endpoint_new(nullptr, nullptr, nullptr, 0), KCPS_E_NULL);
    EXPECT_EQ(kcps_listen(nullptr, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_connect(nullptr, 0, &a, &s), KCPS_E_NULL);
    EXPECT_EQ(kcps_handle(nullptr, 0, &a, d, sizeof d, nullptr), KCPS_E_NULL);
    EXPECT_EQ(kcps_poll_transmit(nullptr, 0, &t), KCPS_E_NULL);
    EXPECT_EQ(kcps_poll_timeout(nullptr, &at), KCPS_E_NULL);
    EXPECT_EQ(kcps_handle_timeout(nullptr, 0), KCPS_E_NULL);
    EXPECT_EQ(kcps_accept(nullptr, &s), KCPS_E_NULL);
    EXPECT_EQ(kcps_poll_event(nullptr, &ev), KCPS_E_NULL);
    EXPECT_EQ(kcps_send(nullptr, 0, 1, d, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_recv(nullptr, 1, d, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_send_capacity(nullptr, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_close(nullptr, 0, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_release(nullptr, 0, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_remote(nullptr, 1, &a), KCPS_E_NULL);
    EXPECT_EQ(kcps_session_state(nullptr, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_session_snmp(nullptr, 1, v, 4), KCPS_E_NULL);
    EXPECT_EQ(kcps_endpoint_stats(nullptr, v, 4), KCPS_E_NULL);
    kcps_endpoint_free(nullptr);
    kcps_config_free(nullptr);

    kcps_config *cfg = kcps_config_new();
    kcps_endpoint *ep = endpoint(cfg);
    kcps_config_free(cfg);
    ASSERT_EQ(kcps_connect(ep, 0, &a, &s), KCPS_OK);
    EXPECT_EQ(kcps_connect(ep, 0, &a, nullptr), KCPS_E_NULL);
    EXPECT_EQ(kcps_connect(ep, 0, nullptr, &s), KCPS_E_NULL);
    EXPECT_EQ(kcps_handle(ep, 0, nullptr, d, sizeof d, nullptr), KCPS_E_NULL);
    EXPECT_EQ(kcps_handle(ep, 0, &a, nullptr, 8, nullptr), KCPS_E_NULL);
    EXPECT_EQ(kcps_send(ep, 0, s, nullptr, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_recv(ep, s, nullptr, 1), KCPS_E_NULL);
    EXPECT_EQ(kcps_poll_transmit(ep, 0, nullptr), KCPS_E_NULL);
    EXPECT_EQ(kcps_poll_timeout(ep, nullptr), KCPS_E_NULL);
    EXPECT_EQ(kcps_remote(ep, s, nullptr), KCPS_E_NULL);
    // Zero bytes need no buffer.
    EXPECT_EQ(kcps_send(ep, 0, s, nullptr, 0), 0);
    kcps_endpoint_free(ep);
}

TEST(Hostile, HandlesOfAnotherOrAFreedEndpointNameNothing) {
    kcps_config *cfg = kcps_config_new();
    kcps_addr a = loopback(1);
    kcps_session old = 0, sa = 0, sb = 0;
    kcps_endpoint *gone = endpoint(cfg);
    ASSERT_EQ(kcps_connect(gone, 0, &a, &old), KCPS_OK);
    kcps_endpoint_free(gone);
    kcps_endpoint *ea = endpoint(cfg), *eb = endpoint(cfg);
    kcps_config_free(cfg);
    ASSERT_EQ(kcps_connect(ea, 0, &a, &sa), KCPS_OK);
    ASSERT_EQ(kcps_connect(eb, 0, &a, &sb), KCPS_OK);
    std::uint8_t d[4] = {1, 2, 3, 4};
    EXPECT_EQ(kcps_send(ea, 0, sb, d, 4), KCPS_E_CLOSED);
    EXPECT_EQ(kcps_send(eb, 0, sa, d, 4), KCPS_E_CLOSED);
    EXPECT_EQ(kcps_send(ea, 0, old, d, 4), KCPS_E_CLOSED);
    EXPECT_EQ(kcps_send(eb, 0, old, d, 4), KCPS_E_CLOSED);
    EXPECT_EQ(kcps_session_state(ea, 0), KCPS_E_CLOSED);
    EXPECT_EQ(kcps_session_state(ea, ~std::uint64_t(0)), KCPS_E_CLOSED);
    // A released session's handle stays dead once the session is gone.
    EXPECT_EQ(kcps_send(ea, 0, sa, d, 4), 4);
    EXPECT_EQ(kcps_release(ea, 0, sa), KCPS_OK);
    kcps_transmit t;
    for (std::uint32_t now = 0; now <= 20000; now += 100) {
        kcps_handle_timeout(ea, now);
        while (kcps_poll_transmit(ea, now, &t) == 1) {
        }
        kcps_event ev;
        while (kcps_poll_event(ea, &ev) == 1) {
        }
    }
    EXPECT_EQ(kcps_send(ea, 20000, sa, d, 4), KCPS_E_CLOSED);
    EXPECT_EQ(kcps_release(ea, 20000, sa), KCPS_E_CLOSED);
    kcps_endpoint_free(ea);
    kcps_endpoint_free(eb);
}

TEST(Hostile, LengthsNoBufferCanHaveGetInvalid) {
    kcps_config *cfg = kcps_config_new();
    kcps_endpoint *ep = endpoint(cfg);
    kcps_config_free(cfg);
    kcps_addr a = loopback(1);
    kcps_session s = 0;
    ASSERT_EQ(kcps_connect(ep, 0, &a, &s), KCPS_OK);
    std::uint8_t d[16] = {0};
    for (std::size_t huge : {SIZE_MAX, SIZE_MAX / 2 + 1, std::size_t(-16)}) {
        EXPECT_EQ(kcps_send(ep, 0, s, d, huge), KCPS_E_INVALID) << huge;
        EXPECT_EQ(kcps_recv(ep, s, d, huge), KCPS_E_INVALID) << huge;
        EXPECT_EQ(kcps_handle(ep, 0, &a, d, huge, nullptr), KCPS_E_INVALID) << huge;
    }
    // Counter arrays longer than there are counters get only what there is.
    std::vector<std::uint64_t> v(kcps_snmp_count() + 8, 7);
    EXPECT_EQ(kcps_session_snmp(ep, s, v.data(), v.size()), int(kcps_snmp_count()));
    EXPECT_EQ(v.back(), 7u);
    EXPECT_EQ(kcps_snmp_name(kcps_snmp_count()), nullptr);
    EXPECT_EQ(kcps_send(ep, 0, s, d, sizeof d), std::int64_t(sizeof d));
    kcps_endpoint_free(ep);
}

// Two threads on one endpoint, which the header forbids: an overlapping call gets
// KCPS_E_BUSY and does nothing; every answer is a capacity or BUSY.
TEST(Hostile, TwoThreadsOnOneEndpointGetBusyNotCorruption) {
    kcps_config *cfg = kcps_config_new();
    kcps_endpoint *ep = endpoint(cfg);
    kcps_config_free(cfg);
    kcps_addr a = loopback(1);
    kcps_session s = 0;
    ASSERT_EQ(kcps_connect(ep, 0, &a, &s), KCPS_OK);
    std::atomic<int> busy(0), other(0);
    auto hammer = [&]() {
        std::uint8_t d[64] = {0};
        for (int i = 0; i < 20000; i++) {
            std::int64_t r = (i % 2) ? kcps_send_capacity(ep, s) : kcps_recv(ep, s, d, sizeof d);
            if (r == KCPS_E_BUSY)
                busy++;
            else if (r < 0 && r != KCPS_E_WOULD_BLOCK)
                other++;
        }
    };
    std::thread t1(hammer), t2(hammer);
    t1.join();
    t2.join();
    EXPECT_EQ(other.load(), 0);
    // BUSY may or may not have happened (scheduling); the endpoint works either way.
    std::uint8_t d[16] = {0};
    EXPECT_EQ(kcps_send(ep, 0, s, d, sizeof d), std::int64_t(sizeof d));
    kcps_endpoint_free(ep);
    std::printf("overlapping calls refused: %d\n", busy.load());
}

} // namespace
